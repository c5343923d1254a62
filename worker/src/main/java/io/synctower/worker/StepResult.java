package io.synctower.worker;

import io.synctower.common.nn.SoftmaxCrossEntropy;

/**
 * What a tower reports for one training step: the shard's loss sum and correct counts (summed over
 * towers by the coordinator) and where the time went. BN-statistic all-reduces of SyncBN happen
 * inside forward and backward and are counted there.
 *
 * @param skipped the update was not applied: some tower's loss or gradients were non-finite
 * @param culprit the rank of the tower where a skipped step's values went bad first; -1 when the
 *     step was applied
 * @param nonFinite on the culprit, where its values first went non-finite (input, a layer's output,
 *     the loss, a gradient); empty on every other tower
 */
public record StepResult(
    SoftmaxCrossEntropy.Result metrics,
    long forwardNanos,
    long backwardNanos,
    long allReduceNanos,
    long optimizerNanos,
    boolean skipped,
    int culprit,
    String nonFinite) {
  /** Compute and communication of the step, without the time spent waiting for data. */
  public long totalNanos() {
    return forwardNanos + backwardNanos + allReduceNanos + optimizerNanos;
  }
}
