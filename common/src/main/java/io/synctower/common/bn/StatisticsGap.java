package io.synctower.common.bn;

/**
 * How far one BN layer's statistics (mean and variance per channel) are from a reference set, in
 * the terms that matter to the normalized value: the largest mean difference in reference standard
 * deviations, {@code max_c |mu_c - ref_c| / sqrt(refVar_c + eps)}, and the largest variance factor
 * either way, {@code max_c max(r, 1/r)} with {@code r = (var_c + eps) / (refVar_c + eps)} (the
 * square of the factor by which the normalized value is mis-scaled). Epsilon keeps a collapsed
 * channel finite. Used by precise BN (new against old statistics) and the doctor (moving against
 * population statistics).
 *
 * @param meanShift the largest mean difference, in reference standard deviations
 * @param meanChannel the channel where it is (the first one on a tie)
 * @param varianceRatio the largest variance factor, >= 1
 * @param varianceChannel the channel where it is (the first one on a tie)
 */
public record StatisticsGap(
    double meanShift, int meanChannel, double varianceRatio, int varianceChannel) {

  /** The gap of {@code (mean, var)} from {@code (refMean, refVar)}, arrays of one per channel. */
  public static StatisticsGap between(
      final double[] mean,
      final double[] var,
      final double[] refMean,
      final double[] refVar,
      final double epsilon) {
    double shift = 0;
    int shiftChannel = 0;
    double ratio = 1;
    int ratioChannel = 0;
    for (int c = 0; c < mean.length; c++) {
      final double s = Math.abs(mean[c] - refMean[c]) / Math.sqrt(refVar[c] + epsilon);
      if (s > shift) {
        shift = s;
        shiftChannel = c;
      }
      final double r = (var[c] + epsilon) / (refVar[c] + epsilon);
      final double factor = Math.max(r, 1 / r);
      if (factor > ratio) {
        ratio = factor;
        ratioChannel = c;
      }
    }
    return new StatisticsGap(shift, shiftChannel, ratio, ratioChannel);
  }
}
