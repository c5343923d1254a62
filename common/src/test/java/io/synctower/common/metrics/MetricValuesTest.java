package io.synctower.common.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * The value types' sums against hand-written field-by-field arithmetic (the code they replaced).
 */
class MetricValuesTest {
  @Test
  void shouldAddMetricSumsFieldByFieldInTheOrderTheyAreAdded() {
    final double[] losses = {0.1, 1e-17, 3.3, 1e16, -0.0};
    MetricSums sums = MetricSums.ZERO;
    double lossSum = 0;
    long positions = 0;
    long sequences = 0;
    long samples = 0;
    for (int i = 0; i < losses.length; i++) {
      sums = sums.plus(new MetricSums(losses[i], 3 * i, i, 4 + i));
      lossSum += losses[i];
      positions += 3 * i;
      sequences += i;
      samples += 4 + i;
    }
    assertEquals(Double.doubleToRawLongBits(lossSum), Double.doubleToRawLongBits(sums.lossSum()));
    assertEquals(new MetricSums(lossSum, positions, sequences, samples), sums);
  }

  @Test
  void shouldTakeMeansCountWeightedAndNaNWithoutSamples() {
    final MetricSums s = new MetricSums(6, 9, 2, 4);
    assertEquals(1.5, s.meanLoss());
    assertEquals(9.0 / 12, s.accuracy(3));
    assertEquals(0.5, s.sequenceAccuracy());
    assertTrue(Double.isNaN(MetricSums.ZERO.meanLoss()));
    assertTrue(Double.isNaN(MetricSums.ZERO.accuracy(3)));
    assertTrue(Double.isNaN(MetricSums.ZERO.sequenceAccuracy()));
  }

  @Test
  void shouldAddPhaseTimesPhaseByPhaseAndAccountForTheirSum() {
    final PhaseTimes a = new PhaseTimes(1, 2, 3, 4, 5, 6);
    final PhaseTimes b = new PhaseTimes(10, 20, 30, 40, 50, 60);
    assertEquals(new PhaseTimes(11, 22, 33, 44, 55, 66), a.plus(b));
    assertEquals(21, a.accountedNanos());
    assertEquals(0, PhaseTimes.ZERO.accountedNanos());
  }
}
