package io.synctower.common.metrics;

/**
 * Sums of a pass over some samples: loss, correct label positions, samples with every position
 * right, and the sample count. Sums, never means, so shards, towers and batches of any size add up
 * exactly, each weighing by its samples ({@link #plus}); means are taken once, at the end.
 *
 * <p>A tower computes them for its shard ({@code SoftmaxCrossEntropy.evaluate}), reports them
 * ({@code Report.StepDone}, {@code Report.EvaluationDone}), and the coordinator adds them over
 * towers and steps ({@code StepOutcome}, {@code EpochMetrics}) and checkpoints a partial epoch's
 * ({@code TrainerState}).
 *
 * @param lossSum the sum over samples of each sample's loss (its mean over label positions)
 * @param correctPositions label positions predicted right
 * @param correctSequences samples with every label position predicted right
 * @param samples samples summed over
 */
public record MetricSums(
    double lossSum, long correctPositions, long correctSequences, long samples) {
  /** Nothing summed yet. */
  public static final MetricSums ZERO = new MetricSums(0, 0, 0, 0);

  /**
   * These sums and {@code other}'s. The loss adds as {@code this.lossSum + other.lossSum}: adding
   * in the same order gives bit-identical totals, which resumes and tower-count invariance rely on.
   */
  public MetricSums plus(final MetricSums other) {
    return new MetricSums(
        lossSum + other.lossSum,
        correctPositions + other.correctPositions,
        correctSequences + other.correctSequences,
        samples + other.samples);
  }

  /** Mean loss per sample; NaN without samples. */
  public double meanLoss() {
    return samples == 0 ? Double.NaN : lossSum / samples;
  }

  /**
   * Accuracy per label position (per character for a captcha) with {@code positions} label
   * positions per sample; NaN without samples.
   */
  public double accuracy(final int positions) {
    return samples == 0 ? Double.NaN : (double) correctPositions / ((double) samples * positions);
  }

  /** Fraction of samples with every position right (the whole captcha); NaN without samples. */
  public double sequenceAccuracy() {
    return samples == 0 ? Double.NaN : (double) correctSequences / samples;
  }
}
