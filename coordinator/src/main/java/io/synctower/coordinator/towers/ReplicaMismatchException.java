package io.synctower.coordinator.towers;

/**
 * Replicas that must be bit-identical after a step are not: their hashes of parameters, moving
 * statistics and optimizer state differ. Training stops, since every later step would diverge.
 */
public final class ReplicaMismatchException extends RuntimeException {
  public ReplicaMismatchException(final String message) {
    super(message);
  }
}
