package io.synctower.coordinator.train;

import io.synctower.common.metrics.MetricSums;

/**
 * Running sums of a pass over data (training or validation), and their means. Counts, never
 * per-batch averages, so uneven batches and shards weigh by samples.
 */
public final class EpochMetrics {
  private final int positions;
  private MetricSums sums;

  public EpochMetrics(final int positions) {
    this(positions, MetricSums.ZERO);
  }

  /** Goes on from {@code sums} already taken (a resumed partial epoch). */
  public EpochMetrics(final int positions, final MetricSums sums) {
    this.positions = positions;
    // Added to an empty pass, exactly as the uninterrupted epoch started (0.0 + -0.0 is 0.0).
    this.sums = MetricSums.ZERO.plus(sums);
  }

  /** Adds one shard's or step's sums (count-weighted: more samples weigh more). */
  public void add(final MetricSums more) {
    sums = sums.plus(more);
  }

  /** The sums so far. */
  public MetricSums sums() {
    return sums;
  }

  public long samples() {
    return sums.samples();
  }

  public int positions() {
    return positions;
  }

  public double loss() {
    return sums.meanLoss();
  }

  /** Accuracy per label position (per character for a captcha). */
  public double accuracy() {
    return sums.accuracy(positions);
  }

  /** Fraction of samples with every position right (the whole captcha). */
  public double sequenceAccuracy() {
    return sums.sequenceAccuracy();
  }
}
