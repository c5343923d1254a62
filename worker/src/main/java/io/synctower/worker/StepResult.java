package io.synctower.worker;

import io.synctower.common.nn.SoftmaxCrossEntropy;

/**
 * What a tower reports for one training step: the shard's loss sum and correct counts (summed over
 * towers by the coordinator) and where the time went. BN-statistic all-reduces of SyncBN happen
 * inside forward and backward and are counted there.
 *
 * @param skipped the update was not applied: some tower's loss or gradients were non-finite
 * @param nonFinite where this tower's own values first went non-finite (input, a layer's output,
 *     the loss, a gradient); empty when they were finite
 */
public record StepResult(
    SoftmaxCrossEntropy.Result metrics,
    long forwardNanos,
    long backwardNanos,
    long allReduceNanos,
    long optimizerNanos,
    boolean skipped,
    String nonFinite) {
  /** Compute and communication of the step, without the time spent waiting for data. */
  public long totalNanos() {
    return forwardNanos + backwardNanos + allReduceNanos + optimizerNanos;
  }
}
