package io.synctower.common.protocol;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Arrays;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * A receiver's filter of decoded control messages: drops another run's messages, senders that may
 * not send here, and replays, and counts every drop by {@link Rejection}.
 *
 * <p>The receiving thread's loop, after the join handshake:
 *
 * <pre>{@code
 * MessageGate gate = new MessageGate(runId, worldSize, false);   // the coordinator's gate
 * Decoded d = codec.decode(buffer, offset, length);
 * if (d instanceof Decoded.Rejected r) {
 *   gate.countDecodeFailure(r.reason());
 * } else if (d instanceof Decoded.Ok ok) {
 *   Rejection why = gate.check(ok);
 *   if (why == null) handle(ok.message()); else log(why, ok);
 * }
 * ...
 * log.info(gate.summary());                                   // "rejected: 2 wrong run, 1 stale"
 * }</pre>
 *
 * <p><b>The join handshake is the caller's.</b> A {@link Join.Request} carries run id 0 and a
 * worker that restarts its join starts its sequence numbers again, so the coordinator handles
 * {@link Join.Request} and {@link Join.Proof} (and a worker its {@link Join.Challenge}) before, and
 * without, the gate: passed to {@link #check} a request is {@link Rejection#WRONG_RUN}. Everything
 * from the {@link Join.Welcome} on goes through the gate.
 *
 * <p><b>Threads.</b> {@link #check} and {@link #countDecodeFailure} are called by the one thread
 * that receives; {@link #count}, {@link #accepted} and {@link #summary} may be called from any
 * thread (the counters are atomic; the last sequence numbers are the receiver's alone).
 */
public final class MessageGate {
  private final long runId;
  private final int worldSize;
  private final boolean acceptCoordinator;
  // Read by lastSequence on other threads; written only by the receiving thread in check.
  private static final VarHandle LAST_SEQ = MethodHandles.arrayElementVarHandle(long[].class);

  private final long[] lastSeq;
  private final AtomicLongArray rejected = new AtomicLongArray(Rejection.values().length);
  private final AtomicLong accepted = new AtomicLong();

  /**
   * @param runId the run's id, not 0 (0 is the run id of a {@link Join.Request})
   * @param worldSize the number of towers, at least 1
   * @param acceptCoordinator true for a tower's gate: only {@link Join#COORDINATOR} may send to it;
   *     false for the coordinator's gate: only ranks {@code [0, worldSize)} may send to it
   * @throws IllegalArgumentException if {@code runId} is 0 or {@code worldSize} below 1
   */
  public MessageGate(final long runId, final int worldSize, final boolean acceptCoordinator) {
    if (runId == 0) {
      throw new IllegalArgumentException("runId 0 is the run id of a join request, not of a run");
    }
    if (worldSize < 1) {
      throw new IllegalArgumentException("worldSize " + worldSize + " must be at least 1");
    }
    this.runId = runId;
    this.worldSize = worldSize;
    this.acceptCoordinator = acceptCoordinator;
    this.lastSeq = new long[acceptCoordinator ? 1 : worldSize];
    Arrays.fill(lastSeq, Long.MIN_VALUE);
  }

  /**
   * Accepts or rejects one decoded message, in this order: {@link Rejection#WRONG_RUN} if its run
   * id is not this run's; {@link Rejection#UNKNOWN_SENDER} if its sender may not send here; {@link
   * Rejection#STALE} if its sequence number is not above the last one accepted from that sender. An
   * accepted message raises its sender's last sequence number; a rejected one changes nothing but
   * its counter. Allocates nothing.
   *
   * @return null if accepted, else the reason, which has been counted
   */
  public Rejection check(final Decoded.Ok ok) {
    Objects.requireNonNull(ok, "ok");
    if (ok.message().runId() != runId) {
      return reject(Rejection.WRONG_RUN);
    }
    final int sender = ok.sender();
    final int slot;
    if (acceptCoordinator) {
      if (sender != Join.COORDINATOR) {
        return reject(Rejection.UNKNOWN_SENDER);
      }
      slot = 0;
    } else {
      if (sender < 0 || sender >= worldSize) {
        return reject(Rejection.UNKNOWN_SENDER);
      }
      slot = sender;
    }
    if (ok.seq() <= lastSeq[slot]) {
      return reject(Rejection.STALE);
    }
    lastSeq[slot] = ok.seq();
    accepted.incrementAndGet();
    return null;
  }

  /**
   * Counts a rejection decided before {@link #check}: a {@link Decoded.Rejected}'s reason, or
   * {@link Rejection#IMPOSTOR} decided by the coordinator.
   */
  public void countDecodeFailure(final Rejection reason) {
    Objects.requireNonNull(reason, "reason");
    rejected.incrementAndGet(reason.ordinal());
  }

  private Rejection reject(final Rejection reason) {
    rejected.incrementAndGet(reason.ordinal());
    return reason;
  }

  /** How many messages were rejected for {@code reason}. Any thread. */
  public long count(final Rejection reason) {
    Objects.requireNonNull(reason, "reason");
    return rejected.get(reason.ordinal());
  }

  /** How many messages {@link #check} accepted. Any thread. */
  /**
   * The last sequence number accepted from {@code sender} (the slot {@link #check} uses), {@link
   * Long#MIN_VALUE} before the first: for tests that must know a sender's history before they forge
   * a replay of it. Read from any thread.
   */
  public long lastSequence(final int sender) {
    return (long) LAST_SEQ.getVolatile(lastSeq, acceptCoordinator ? 0 : sender);
  }

  public long accepted() {
    return accepted.get();
  }

  /**
   * The rejections for a log line, in {@link Rejection} order, e.g. {@code "rejected: 2 wrong run,
   * 1 stale"}, or {@code "rejected: none"}. Any thread.
   */
  public String summary() {
    final StringBuilder s = new StringBuilder("rejected: ");
    boolean any = false;
    for (final Rejection r : Rejection.values()) {
      final long n = count(r);
      if (n > 0) {
        s.append(any ? ", " : "").append(n).append(' ').append(r.words());
        any = true;
      }
    }
    return any ? s.toString() : s.append("none").toString();
  }
}
