package io.synctower.worker;

import io.synctower.common.metrics.MetricSums;
import io.synctower.common.metrics.PhaseTimes;

/**
 * What a tower reports for one training step: the shard's loss sum and correct counts (summed over
 * towers by the coordinator) and where the time went ({@link PhaseTimes}; the tower's own phases,
 * so its data wait is 0: the runtime that fetched the batch adds it). SyncBN's statistic
 * all-reduces happen inside forward and backward; when the step's reducer is a {@link
 * io.synctower.common.bn.TimedStatsReducer} their time is {@code bnReduceNanos} and is not counted
 * in {@code forwardNanos} or {@code backwardNanos} (otherwise it is 0 and stays in those two), so
 * the phases add up to the step.
 *
 * @param skipped the update was not applied: some tower's loss or gradients were non-finite
 * @param culprit the rank of the tower where a skipped step's values went bad first; -1 when the
 *     step was applied
 * @param nonFinite on the culprit, where its values first went non-finite (input, a layer's output,
 *     the loss, a gradient); empty on every other tower
 */
public record StepResult(
    MetricSums metrics, PhaseTimes times, boolean skipped, int culprit, String nonFinite) {
  /** Compute and communication of the step, without the time spent waiting for data. */
  public long totalNanos() {
    return times.accountedNanos() - times.dataWaitNanos();
  }
}
