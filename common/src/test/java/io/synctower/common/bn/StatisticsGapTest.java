package io.synctower.common.bn;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** The gap between two sets of BN statistics, against values worked out by hand. */
class StatisticsGapTest {
  @Test
  void shouldMeasureTheMeanInReferenceStdAndTheVarianceAsAFactorEitherWay() {
    // Channel 0: mean 3 vs 1 with reference variance 4 - eps -> 2 / 2 = 1 std; variance 4 - eps
    // vs 4 - eps -> factor 1. Channel 1: mean equal; variance 1 - eps vs 9 - eps -> r = 1/9, 9.
    final double eps = 1e-3;
    final StatisticsGap gap =
        StatisticsGap.between(
            new double[] {3, 5},
            new double[] {4 - eps, 1 - eps},
            new double[] {1, 5},
            new double[] {4 - eps, 9 - eps},
            eps);
    assertEquals(1.0, gap.meanShift(), 1e-12);
    assertEquals(0, gap.meanChannel());
    assertEquals(9.0, gap.varianceRatio(), 1e-12);
    assertEquals(1, gap.varianceChannel());
  }

  @Test
  void identicalStatisticsHaveNoGap() {
    final double[] mean = {0.5, -2};
    final double[] var = {1, 0};
    final StatisticsGap gap = StatisticsGap.between(mean, var, mean, var, 1e-5);
    assertEquals(new StatisticsGap(0, 0, 1, 0), gap);
  }
}
