package io.synctower.coordinator.experiments;

/**
 * One line of {@code scaling.csv}: one run of the sweep, summarized. Times are milliseconds per
 * step over the timed steps (warm-up left out). The split columns are means, so they add up to
 * {@code meanStepMs}: compute (forward + backward) + BN-statistic all-reduce + gradient all-reduce
 * + optimizer + data wait + idle (the coordinator's wall time that no tower accounts for).
 *
 * @param samplesPerSecond global batch / median step time
 * @param computeMsPerSample compute per sample on the tower each step waited for: it grows with the
 *     tower count when towers compete for cores
 * @param efficiency throughput / (N / N0 x throughput at N0), N0 the smallest tower count of the
 *     same BN mode (normally 1); NaN for a BN mode without that baseline
 */
public record ScalingRow(
    int towers,
    BnMode bn,
    ScalingMode mode,
    int globalBatch,
    double towerBatch,
    long timedSteps,
    double samplesPerSecond,
    double medianStepMs,
    double p95StepMs,
    double meanStepMs,
    double dataWaitMs,
    double computeMs,
    double bnReduceMs,
    double allReduceMs,
    double optimizerMs,
    double idleMs,
    double computeMsPerSample,
    double efficiency,
    double finalLoss,
    double trainAccuracy,
    double validationLoss,
    double validationAccuracy) {

  /** Communication per step: the BN-statistic and the gradient all-reduce, waits included. */
  public double communicationMs() {
    return bnReduceMs + allReduceMs;
  }
}
