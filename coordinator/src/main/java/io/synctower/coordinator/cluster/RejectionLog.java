package io.synctower.coordinator.cluster;

import io.synctower.common.protocol.Decoded;
import io.synctower.common.protocol.MessageGate;
import io.synctower.common.protocol.Rejection;
import java.io.PrintStream;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Every message the coordinator drops, counted by reason and never silent: the first rejection is
 * printed when it happens, the counts when the towers close ({@link #summary}). Wraps the {@link
 * MessageGate} that checks run id, sender and sequence numbers.
 *
 * <p>Threads: called from whichever thread polls the control inbox (the join, then the I/O thread);
 * the counts may be read from any thread.
 */
final class RejectionLog {
  private final MessageGate gate;
  private final PrintStream out;
  private final AtomicBoolean firstLogged = new AtomicBoolean();

  RejectionLog(final long runId, final int towers, final PrintStream out) {
    this.gate = new MessageGate(runId, towers, false);
    this.out = out;
  }

  /** Counts a dropped frame and says so the first time. */
  void reject(final Rejection reason, final String detail) {
    gate.countDecodeFailure(reason);
    firstRejection(reason, detail);
  }

  /**
   * Whether {@code ok} passes the gate (this run, a known sender, a fresh sequence number); if not,
   * it was counted and the first such rejection printed.
   */
  boolean accepts(final Decoded.Ok ok) {
    final Rejection why = gate.check(ok);
    if (why == null) {
      return true;
    }
    firstRejection(why, ok.message().getClass().getSimpleName() + " from sender " + ok.sender());
    return false;
  }

  private void firstRejection(final Rejection reason, final String detail) {
    if (firstLogged.compareAndSet(false, true)) {
      out.printf(
          Locale.ROOT,
          "coordinator: rejected a message (%s: %s); later ones are counted and printed when"
              + " the run ends%n",
          reason.name().toLowerCase(Locale.ROOT).replace('_', ' '),
          detail);
    }
  }

  /** Messages rejected so far, by reason. */
  String summary() {
    return gate.summary();
  }

  /** How many messages were rejected for {@code reason}. */
  long count(final Rejection reason) {
    return gate.count(reason);
  }

  /** The last sequence number accepted from tower {@code rank}. */
  long lastSequence(final int rank) {
    return gate.lastSequence(rank);
  }
}
