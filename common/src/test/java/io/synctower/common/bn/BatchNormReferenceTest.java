package io.synctower.common.bn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.nn.BnTraining;
import io.synctower.common.nn.Model;
import io.synctower.common.nn.Shape;
import io.synctower.common.nn.StatsReducer;
import io.synctower.common.nn.StepContext;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Batch norm against small cases computed by hand (plain Java doubles written independently of the
 * implementation), with negative controls showing that plausible wrong variants differ.
 */
class BatchNormReferenceTest {
  private static final double EPS = 1e-3;
  private static final double DECAY = 0.9;

  private static Model bnModel(final boolean trainable, final DataType dtype) {
    final Model m =
        new Model(List.of(new BatchNorm("bn", Shape.flat(1), DECAY, EPS, trainable, dtype)), dtype);
    m.initialize(1);
    return m;
  }

  private static INDArray column(final double... v) {
    return Nd4j.createFromArray(v).reshape(v.length, 1);
  }

  private static double[] flat(final INDArray a) {
    return a.dup().reshape(a.length()).toDoubleVector();
  }

  @Test
  void shouldNormalizeWithBiasedBatchVarianceAndUpdateMovingStatsWithUnbiasedVariance() {
    final Model m = bnModel(true, DataType.DOUBLE);
    final double[] x = {1, 2, 3, 6};
    final double mean = 3;
    final double biased = (4 + 1 + 0 + 9) / 4.0; // 3.5
    final double[] expected = new double[4];
    for (int i = 0; i < 4; i++) {
      expected[i] = (x[i] - mean) / Math.sqrt(biased + EPS);
    }
    final INDArray y = m.forward(column(x), StepContext.training(0, 0, 4));
    assertArrayEquals(expected, flat(y), 1e-12);

    m.applyMovingStatistics();
    final double unbiased = biased * 4 / 3;
    assertEquals(0.9 * 0 + 0.1 * mean, m.state().getDouble(0), 1e-12, "moving mean");
    assertEquals(0.9 * 1 + 0.1 * unbiased, m.state().getDouble(1), 1e-12, "moving var");
    // Negative control: the biased variance in the update would be a different number.
    assertTrue(Math.abs(m.state().getDouble(1) - (0.9 + 0.1 * biased)) > 1e-3);
  }

  @Test
  void shouldBackpropagateThroughBatchStatisticsLikeTheClosedForm() {
    final Model m = bnModel(true, DataType.DOUBLE);
    m.parameters().putScalar(0, 2.0); // gamma
    m.parameters().putScalar(1, 0.5); // beta
    final double[] x = {1, 2, 3, 6};
    final double[] dy = {1, 0, -2, 0.5};
    m.forward(column(x), StepContext.training(0, 0, 4));
    final INDArray dx = m.layers().get(0).backward(column(dy), StepContext.training(0, 0, 4));

    final double mean = 3;
    final double var = 3.5;
    final double inv = 1 / Math.sqrt(var + EPS);
    double sumDy = 0;
    double sumDyXhat = 0;
    for (int i = 0; i < 4; i++) {
      sumDy += dy[i];
      sumDyXhat += dy[i] * (x[i] - mean) * inv;
    }
    final double[] expected = new double[4];
    for (int i = 0; i < 4; i++) {
      final double xhat = (x[i] - mean) * inv;
      expected[i] = 2.0 * inv / 4 * (4 * dy[i] - sumDy - xhat * sumDyXhat);
    }
    assertArrayEquals(expected, flat(dx), 1e-12);
    assertEquals(sumDyXhat, m.gradients().getDouble(0), 1e-12, "dgamma");
    assertEquals(sumDy, m.gradients().getDouble(1), 1e-12, "dbeta");
  }

  @Test
  void shouldNormalizeEachGhostBatchAloneButUpdateMovingStatsFromTheirUnion() {
    final Model m = bnModel(true, DataType.DOUBLE);
    final double[] x = {1, 2, 3, 6};
    final StepContext ghost =
        new StepContext(true, BnTraining.GHOST, 2, StatsReducer.LOCAL, 0, 0, 0, 4);
    final INDArray y = m.forward(column(x), ghost);
    // groups {1,2}: mean 1.5 var 0.25; {3,6}: mean 4.5 var 2.25
    final double[] expected = {
      -0.5 / Math.sqrt(0.25 + EPS), 0.5 / Math.sqrt(0.25 + EPS),
      -1.5 / Math.sqrt(2.25 + EPS), 1.5 / Math.sqrt(2.25 + EPS)
    };
    assertArrayEquals(expected, flat(y), 1e-12);
    m.applyMovingStatistics();
    final double unionUnbiased = 3.5 * 4 / 3;
    assertEquals(0.1 * 3, m.state().getDouble(0), 1e-12);
    assertEquals(0.9 + 0.1 * unionUnbiased, m.state().getDouble(1), 1e-12);
    // Negative control: averaging the ghost batches' own (unbiased) variances misses the spread
    // between their means and under-estimates the population variance.
    final double averaged = (0.5 + 4.5) / 2;
    assertTrue(Math.abs(m.state().getDouble(1) - (0.9 + 0.1 * averaged)) > 0.1);
  }

  @Test
  void shouldUseMovingStatisticsAndUpdateNothingWhenFrozen() {
    final Model m = bnModel(false, DataType.DOUBLE);
    m.state().putScalar(0, 2.0); // running_mean
    m.state().putScalar(1, 4.0); // running_var
    m.parameters().putScalar(0, 3.0);
    m.parameters().putScalar(1, -1.0);
    final double[] x = {1, 2, 3, 6};
    final StepContext train = StepContext.training(0, 0, 4);
    final INDArray y = m.forward(column(x), train);
    final double scale = 3.0 / Math.sqrt(4.0 + EPS);
    final double[] expected = new double[4];
    for (int i = 0; i < 4; i++) {
      expected[i] = (x[i] - 2.0) * scale - 1.0;
    }
    assertArrayEquals(expected, flat(y), 1e-12);
    final INDArray dx = m.layers().get(0).backward(column(1, 1, 1, 1), train);
    assertArrayEquals(new double[] {scale, scale, scale, scale}, flat(dx), 1e-12);
    m.applyMovingStatistics();
    assertEquals(2.0, m.state().getDouble(0), 0.0);
    assertEquals(4.0, m.state().getDouble(1), 0.0);
    assertEquals(
        0.0,
        m.unionStatistics().norm2Number().doubleValue(),
        0.0,
        "frozen BN records no statistics");
  }

  @Test
  void shouldUseMovingStatisticsInInference() {
    final Model m = bnModel(true, DataType.DOUBLE);
    m.state().putScalar(0, -1.0);
    m.state().putScalar(1, 0.25);
    final INDArray y = m.forward(column(0, 1), StepContext.inference());
    assertArrayEquals(
        new double[] {1 / Math.sqrt(0.25 + EPS), 2 / Math.sqrt(0.25 + EPS)}, flat(y), 1e-12);
    // Negative control: batch statistics would map {0, 1} to {-1, 1} (approximately).
    assertFalse(Math.abs(flat(y)[0] + 1) < 0.1);
  }

  @Test
  void shouldKeepVarianceNonNegativeAndFiniteForLargeMeanTinySpreadChannels() {
    for (final DataType dtype : new DataType[] {DataType.DOUBLE, DataType.FLOAT}) {
      final Model m = bnModel(true, dtype);
      final SplittableRandom rng = new SplittableRandom(5);
      final int n = 4096;
      final double[] x = new double[n];
      double mean = 0;
      for (int i = 0; i < n; i++) {
        x[i] =
            dtype == DataType.FLOAT
                ? (float) (1e4 + 1e-2 * (rng.nextDouble() * 2 - 1))
                : 1e4 + 1e-2 * (rng.nextDouble() * 2 - 1);
        mean += x[i];
      }
      mean /= n;
      double var = 0;
      for (final double v : x) {
        var += (v - mean) * (v - mean);
      }
      var /= n;
      final INDArray y = m.forward(column(x).castTo(dtype), StepContext.training(0, 0, n));
      for (final double v : flat(y)) {
        assertTrue(Double.isFinite(v), dtype + ": finite output");
      }
      // Normalization uses exact two-pass statistics: sum(y^2)/n = var / (var + eps).
      double sumSq = 0;
      for (final double v : flat(y)) {
        sumSq += v * v;
      }
      final double tolerance = dtype == DataType.DOUBLE ? 1e-9 : 1e-3;
      assertEquals(var / (var + EPS), sumSq / n, tolerance, dtype + ": normalized second moment");
      m.applyMovingStatistics();
      final double movingVar = m.state().getDouble(1);
      assertTrue(movingVar >= 0.9, dtype + ": moving var " + movingVar);
      // The union partials sit relative to K = moving mean (0 here, 1e4 away from the data), so
      // the moving-variance update is good to ~1e-5 relative at step 0 and improves as K tracks.
      if (dtype == DataType.DOUBLE) {
        final double recovered = (movingVar - 0.9) / 0.1 * (n - 1) / n;
        assertEquals(var, recovered, var * 1e-4, "batch variance folded into the moving variance");
      }
    }
  }
}
