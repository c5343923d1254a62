package io.synctower.common.bn;

import io.synctower.common.nn.StatsReducer;
import java.util.Objects;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A {@link StatsReducer} that adds up the time its delegate spends reducing, so a step can report
 * SyncBN's statistic all-reduces apart from the forward and backward compute they sit inside.
 *
 * <p>The caller's loop (the tower's own thread):
 *
 * <pre>{@code
 * TimedStatsReducer timed =
 *     new TimedStatsReducer(StatsReducer.of(group.rank(), group.size(), group::allReduceSum));
 * StepContext ctx = new StepContext(true, BnTraining.SYNC, 0, timed, seed, 0, 0, batch);
 * long before = timed.elapsedNanos();
 * model.forward(x, ctx);                          // each SyncBN layer calls timed.sumInPlace
 * long reducingInForward = timed.elapsedNanos() - before;
 * }</pre>
 *
 * <p>The counter only grows (readers take differences, so nothing is reset between steps) and is
 * plain, not volatile: one tower thread calls {@link #sumInPlace} and reads {@link #elapsedNanos}.
 * Two {@link System#nanoTime} calls per reduction, no allocation. The time includes waiting for the
 * other towers of the sync group to arrive, which is what the reduction costs the step.
 */
public final class TimedStatsReducer implements StatsReducer {
  private final StatsReducer delegate;
  private long elapsedNanos;

  /** Times {@code delegate}, which does the reducing. */
  public TimedStatsReducer(final StatsReducer delegate) {
    this.delegate = Objects.requireNonNull(delegate, "delegate");
  }

  @Override
  public void sumInPlace(final INDArray partials) {
    final long start = System.nanoTime();
    try {
      delegate.sumInPlace(partials);
    } finally {
      elapsedNanos += System.nanoTime() - start;
    }
  }

  @Override
  public int groupSize() {
    return delegate.groupSize();
  }

  @Override
  public int groupRank() {
    return delegate.groupRank();
  }

  /** Nanoseconds spent in {@link #sumInPlace} since this reducer was created. */
  public long elapsedNanos() {
    return elapsedNanos;
  }

  /** What {@code reducer} has spent reducing so far, or 0 when it is not timed. */
  public static long elapsedNanos(final StatsReducer reducer) {
    return reducer instanceof TimedStatsReducer timed ? timed.elapsedNanos : 0;
  }
}
