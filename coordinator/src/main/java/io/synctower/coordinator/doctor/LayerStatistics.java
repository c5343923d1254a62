package io.synctower.coordinator.doctor;

import io.synctower.common.bn.StatisticsGap;

/**
 * One BN layer's moving statistics (as the run left them) next to the population statistics of its
 * inputs on the doctor's sample under the same weights (what precise BN would set).
 *
 * @param populationMean null for a frozen layer (precise BN leaves it alone)
 * @param populationVar unbiased; null for a frozen layer
 */
public record LayerStatistics(
    String name,
    boolean trainable,
    double epsilon,
    double[] movingMean,
    double[] movingVar,
    double[] populationMean,
    double[] populationVar) {

  /** Whether the moving statistics are exactly their initial values: mean 0 and variance 1. */
  public boolean initial() {
    for (int c = 0; c < movingMean.length; c++) {
      if (movingMean[c] != 0 || movingVar[c] != 1) {
        return false;
      }
    }
    return true;
  }

  /**
   * How far the moving mean is from the population's, in units of the scale the layer divides by:
   * {@code max_c |mu_moving - mu_pop| / sqrt(var_pop + eps)}; its channel in {@link
   * #worstMeanChannel()}.
   */
  public double meanDeviation() {
    return gap().meanShift();
  }

  public int worstMeanChannel() {
    return gap().meanChannel();
  }

  /**
   * How far the moving variance is from the population's, as a factor >= 1 either way: {@code max_c
   * max(r, 1/r)} with {@code r = (var_moving + eps) / (var_pop + eps)}, the square of the factor by
   * which inference mis-scales the normalized value.
   */
  public double varianceRatio() {
    return gap().varianceRatio();
  }

  public int worstVarianceChannel() {
    return gap().varianceChannel();
  }

  private StatisticsGap gap() {
    return StatisticsGap.between(movingMean, movingVar, populationMean, populationVar, epsilon);
  }
}
