package io.synctower.worker;

import io.synctower.common.nn.SoftmaxCrossEntropy;

/**
 * What a tower reports for one training step: the shard's loss sum and correct counts (summed over
 * towers by the coordinator) and where the time went.
 */
public record StepResult(
    SoftmaxCrossEntropy.Result metrics,
    long forwardNanos,
    long backwardNanos,
    long optimizerNanos) {}
