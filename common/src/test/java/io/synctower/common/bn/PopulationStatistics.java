package io.synctower.common.bn;

import java.util.List;

/** Test oracle: per-channel population statistics of rows of activations. */
public final class PopulationStatistics {
  private PopulationStatistics() {}

  /**
   * Mean and unbiased variance per column over the rows of all {@code blocks}: {@code {mean, var}},
   * two passes in plain Java (the independent oracle for precise BN's population statistics).
   */
  public static double[][] of(final List<double[][]> blocks) {
    final int c = blocks.get(0)[0].length;
    final double[] mean = new double[c];
    final double[] var = new double[c];
    long n = 0;
    for (final double[][] b : blocks) {
      for (final double[] row : b) {
        for (int j = 0; j < c; j++) {
          mean[j] += row[j];
        }
        n++;
      }
    }
    for (int j = 0; j < c; j++) {
      mean[j] /= n;
    }
    for (final double[][] b : blocks) {
      for (final double[] row : b) {
        for (int j = 0; j < c; j++) {
          var[j] += (row[j] - mean[j]) * (row[j] - mean[j]);
        }
      }
    }
    for (int j = 0; j < c; j++) {
      var[j] /= n - 1;
    }
    return new double[][] {mean, var};
  }
}
