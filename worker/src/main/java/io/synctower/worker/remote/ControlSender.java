package io.synctower.worker.remote;

import io.aeron.Publication;
import io.synctower.common.protocol.ControlCodec;
import io.synctower.common.protocol.Message;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * Sends control messages: numbers them (one increasing sequence per sender, so a receiver rejects
 * replays), encodes and authenticates them ({@link ControlCodec}), and offers them with explicit
 * back-pressure handling: BACK_PRESSURED and ADMIN_ACTION are retried with a backoff until {@code
 * timeout}; NOT_CONNECTED is retried as long (a peer may still be starting); CLOSED and
 * MAX_POSITION_EXCEEDED fail at once. A message is delivered or the send throws {@link
 * TransportException}; it is never silently dropped.
 *
 * <p>Threads: thread-safe; one message at a time (so sequence numbers reach each peer in order).
 * Memory: one reusable 1 MiB direct buffer; nothing allocated per message besides the codec's.
 */
public final class ControlSender {
  private final ControlCodec codec;
  private final UnsafeBuffer buffer = new UnsafeBuffer(ByteBuffer.allocateDirect(1 << 20));
  private final IdleStrategy idle =
      new BackoffIdleStrategy(
          10, 20, TimeUnit.MICROSECONDS.toNanos(1), TimeUnit.MILLISECONDS.toNanos(1));
  private final long timeoutNanos;
  private long seq;

  /** {@code secret}: the run's secret (HMAC key). */
  public ControlSender(final byte[] secret, final long timeoutNanos) {
    this.codec = new ControlCodec(secret);
    this.timeoutNanos = timeoutNanos;
  }

  /**
   * Sends {@code message} on {@code publication}; {@code peer} names the receiver in errors.
   *
   * @throws TransportException if it cannot be delivered
   */
  public synchronized void send(
      final Publication publication, final Message message, final String peer) {
    final int length = codec.encode(message, ++seq, buffer, 0);
    final long deadline = System.nanoTime() + timeoutNanos;
    idle.reset();
    while (true) {
      final long result = publication.offer(buffer, 0, length);
      if (result > 0) {
        return;
      }
      if (result == Publication.CLOSED || result == Publication.MAX_POSITION_EXCEEDED) {
        throw new TransportException(
            "cannot send to "
                + peer
                + ": the channel is "
                + (result == Publication.CLOSED ? "closed" : "exhausted (max position)"));
      }
      if (System.nanoTime() - deadline > 0) {
        throw new TransportException(
            result == Publication.NOT_CONNECTED
                ? "cannot send to "
                    + peer
                    + ": not connected after "
                    + TimeUnit.NANOSECONDS.toSeconds(timeoutNanos)
                    + " s (is it running and reachable? firewall? right host:port?)"
                : "cannot send to "
                    + peer
                    + ": back-pressured for "
                    + TimeUnit.NANOSECONDS.toSeconds(timeoutNanos)
                    + " s (it stopped reading)");
      }
      idle.idle();
    }
  }
}
