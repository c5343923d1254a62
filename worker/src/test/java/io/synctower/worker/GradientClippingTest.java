package io.synctower.worker;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.nn.BnTraining;
import io.synctower.common.nn.Model;
import io.synctower.common.nn.SoftmaxCrossEntropy;
import io.synctower.common.nn.StatsReducer;
import io.synctower.common.nn.StepContext;
import io.synctower.common.optim.OptimizerSpec;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Gradient clipping by global norm: PyTorch's factor, and a step against its hand-made result. */
class GradientClippingTest {
  private static final int N = 8;
  private static final double LR = 0.05;

  @Test
  void aGradientAboveTheNormIsScaledByPyTorchsFactor() {
    final INDArray g = Nd4j.createFromArray(3.0, 4.0);
    assertEquals(5.0, GradientClipping.clip(g, 1.0));
    final double factor = 1.0 / (5.0 + 1e-6);
    assertArrayEquals(new double[] {3 * factor, 4 * factor}, g.toDoubleVector(), 0);
    final INDArray small = Nd4j.createFromArray(0.3, 0.4);
    GradientClipping.clip(small, 1.0);
    assertArrayEquals(new double[] {0.3, 0.4}, small.toDoubleVector(), 0, "below the norm");
  }

  @Test
  void aClippedSgdStepIsTheHandComputedOne() {
    final Random rng = new Random(3);
    final INDArray x =
        Nd4j.rand(
                DataType.DOUBLE,
                N,
                TowerHarness.INPUT.dim(0),
                TowerHarness.INPUT.dim(1),
                TowerHarness.INPUT.dim(2))
            .muli(4)
            .subi(1);
    final int[] labels = new int[N];
    for (int i = 0; i < N; i++) {
      labels[i] = rng.nextInt(TowerHarness.CLASSES);
    }
    // Unclipped plain SGD, p1 = p0 - lr g, gives the step's gradient g.
    final Model free = TowerHarness.model(false);
    final double[] p0 = free.parameters().toDoubleVector();
    tower(free, 0).trainStep(x, labels, context(), LR);
    final double[] pFree = free.parameters().toDoubleVector();
    final double[] g = new double[p0.length];
    for (int i = 0; i < g.length; i++) {
      g[i] = (p0[i] - pFree[i]) / LR;
    }
    double sq = 0;
    for (final double v : g) {
      sq += v * v;
    }
    final double norm = Math.sqrt(sq);
    final double maxNorm = norm / 3;
    final double factor = maxNorm / (norm + 1e-6);
    assertTrue(factor < 0.34, "the test must clip");

    final Model clipped = TowerHarness.model(false);
    tower(clipped, maxNorm).trainStep(x, labels, context(), LR);
    final double[] p1 = clipped.parameters().toDoubleVector();
    for (int i = 0; i < p0.length; i++) {
      final double expected = p0[i] - LR * (g[i] * factor);
      assertEquals(expected, p1[i], 1e-12 * Math.max(1, Math.abs(expected)), "parameter " + i);
    }
    // Clipping touches the update only: the moving statistics are the unclipped step's.
    assertArrayEquals(free.state().toDoubleVector(), clipped.state().toDoubleVector(), 0);
  }

  private static Tower tower(final Model m, final double maxNorm) {
    final Tower t =
        new Tower(
            m,
            new SoftmaxCrossEntropy(1, TowerHarness.CLASSES, DataType.DOUBLE),
            OptimizerSpec.sgd(LR).create(m.parameters(), m.trainableRanges()));
    t.clipGradientNorm(maxNorm);
    return t;
  }

  private static StepContext context() {
    return new StepContext(true, BnTraining.LOCAL, 0, StatsReducer.LOCAL, 5, 0, 0, 0).at(0, 0, N);
  }
}
