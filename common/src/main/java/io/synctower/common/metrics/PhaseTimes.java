package io.synctower.common.metrics;

/**
 * Where one tower's time went in one training step, in nanoseconds, phase by phase in the order
 * they run. The phases do not overlap, so they add up ({@link #accountedNanos}): SyncBN's statistic
 * all-reduces happen inside forward and backward, and their time is {@code bnReduceNanos}, already
 * taken out of {@code forwardNanos} and {@code backwardNanos}. Both all-reduce times include
 * waiting for the slowest tower of the group to arrive.
 *
 * <p>A tower measures them and reports them in {@code Report.StepDone}; the coordinator's {@code
 * StepTimings} keeps them per step and splits each step's wall time by the tower it waited for.
 *
 * @param dataWaitNanos waiting for the step's shard of data
 * @param forwardNanos forward pass and loss, without BN-statistic all-reduces
 * @param backwardNanos backward pass, without BN-statistic all-reduces
 * @param bnReduceNanos inside SyncBN's statistic all-reduces during forward and backward
 * @param allReduceNanos in the gradient all-reduce
 * @param optimizerNanos in the moving-statistic update and the optimizer
 */
public record PhaseTimes(
    long dataWaitNanos,
    long forwardNanos,
    long backwardNanos,
    long bnReduceNanos,
    long allReduceNanos,
    long optimizerNanos) {
  /** No time measured. */
  public static final PhaseTimes ZERO = new PhaseTimes(0, 0, 0, 0, 0, 0);

  /** These times with {@code nanos} as the data wait (a tower's runtime adds what it waited). */
  public PhaseTimes withDataWait(final long nanos) {
    return new PhaseTimes(
        nanos, forwardNanos, backwardNanos, bnReduceNanos, allReduceNanos, optimizerNanos);
  }

  /** These times and {@code other}'s, phase by phase. */
  public PhaseTimes plus(final PhaseTimes other) {
    return new PhaseTimes(
        dataWaitNanos + other.dataWaitNanos,
        forwardNanos + other.forwardNanos,
        backwardNanos + other.backwardNanos,
        bnReduceNanos + other.bnReduceNanos,
        allReduceNanos + other.allReduceNanos,
        optimizerNanos + other.optimizerNanos);
  }

  /** The step's time that this tower accounts for: the sum of its phases. */
  public long accountedNanos() {
    return dataWaitNanos
        + forwardNanos
        + backwardNanos
        + bnReduceNanos
        + allReduceNanos
        + optimizerNanos;
  }
}
