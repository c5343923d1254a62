package io.synctower.worker.remote;

/**
 * The control channel cannot deliver or receive: the peer is gone, never connected, or stopped
 * reading. The message names the peer and what to check.
 */
public final class TransportException extends RuntimeException {
  public TransportException(final String message) {
    super(message);
  }
}
