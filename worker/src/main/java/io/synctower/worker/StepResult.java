package io.synctower.worker;

import io.synctower.common.nn.SoftmaxCrossEntropy;

/**
 * What a tower reports for one training step: the shard's loss sum and correct counts (summed over
 * towers by the coordinator) and where the time went. BN-statistic all-reduces of SyncBN happen
 * inside forward and backward and are counted there.
 */
public record StepResult(
    SoftmaxCrossEntropy.Result metrics,
    long forwardNanos,
    long backwardNanos,
    long allReduceNanos,
    long optimizerNanos) {
  /** Compute and communication of the step, without the time spent waiting for data. */
  public long totalNanos() {
    return forwardNanos + backwardNanos + allReduceNanos + optimizerNanos;
  }
}
