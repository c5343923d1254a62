package io.synctower.coordinator.towers;

import io.synctower.common.protocol.Report;

/**
 * A tower failed during a command; every tower's collectives were aborted. {@link #cause()} says
 * how, so the trainer can tell a lost tower (which an elastic run recovers from) from a failure
 * that would only repeat (bad data, NaN, a full disk).
 */
public final class TowerFailedException extends RuntimeException {
  private final Report.Cause failure;
  private final int rank;

  public TowerFailedException(final String message, final Report.Cause failure, final int rank) {
    super(message);
    this.failure = failure;
    this.rank = rank;
  }

  /** How the tower failed. */
  public Report.Cause failure() {
    return failure;
  }

  /** The failed tower's rank, or -1 when not one tower's failure. */
  public int rank() {
    return rank;
  }

  /** Whether an elastic restart may retry: the tower crashed, was lost or stalled. */
  public boolean recoverable() {
    return failure == Report.Cause.CRASHED
        || failure == Report.Cause.LOST
        || failure == Report.Cause.STALLED;
  }
}
