package io.synctower.coordinator.train;

import io.synctower.common.nn.SoftmaxCrossEntropy;

/**
 * Running sums of a pass over data (training or validation), and their means. Counts, never
 * per-batch averages, so uneven batches and shards weigh by samples.
 */
public final class EpochMetrics {
  private final int positions;
  private double lossSum;
  private long correctPositions;
  private long correctSequences;
  private long samples;

  public EpochMetrics(final int positions) {
    this.positions = positions;
  }

  public void add(final SoftmaxCrossEntropy.Result r) {
    add(r.lossSum(), r.correctPositions(), r.correctSequences(), r.samples());
  }

  /** Adds one shard's sums (count-weighted: towers with more samples weigh more). */
  public void add(
      final double shardLossSum,
      final long shardCorrectPositions,
      final long shardCorrectSequences,
      final long shardSamples) {
    lossSum += shardLossSum;
    correctPositions += shardCorrectPositions;
    correctSequences += shardCorrectSequences;
    samples += shardSamples;
  }

  public long samples() {
    return samples;
  }

  public int positions() {
    return positions;
  }

  public double lossSum() {
    return lossSum;
  }

  public long correctPositions() {
    return correctPositions;
  }

  public long correctSequences() {
    return correctSequences;
  }

  public double loss() {
    return samples == 0 ? Double.NaN : lossSum / samples;
  }

  /** Accuracy per label position (per character for a captcha). */
  public double accuracy() {
    return samples == 0 ? Double.NaN : (double) correctPositions / ((double) samples * positions);
  }

  /** Fraction of samples with every position right (the whole captcha). */
  public double sequenceAccuracy() {
    return samples == 0 ? Double.NaN : (double) correctSequences / samples;
  }
}
