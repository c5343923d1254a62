package io.synctower.common.bn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.comm.Collective;
import io.synctower.common.comm.InProcessGroup;
import io.synctower.common.nn.Dense;
import io.synctower.common.nn.Model;
import io.synctower.common.nn.ParamSpec;
import io.synctower.common.nn.Relu;
import io.synctower.common.nn.Shape;
import io.synctower.common.nn.StepContext;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Precise BN against the population statistics computed in plain Java from the very inputs each BN
 * layer saw (the previous layer's outputs, copied after every forward): count-weighted over uneven
 * batches, independent of the stale moving mean used as shift, identical on every tower.
 */
class PreciseBnTest {
  private static final int BN1 = 1;
  private static final int BN2 = 4;
  private static final int BN_FROZEN = 5;

  /**
   * dense(3->4), bn, relu, dense(4->5), bn, frozen bn: the second BN sees batch-normalized input.
   */
  private static Model model() {
    final DataType d = DataType.DOUBLE;
    final Model m =
        new Model(
            List.of(
                new Dense("fc1", Shape.flat(3), 4, true, true, ParamSpec.Init.GLOROT_UNIFORM, d),
                new BatchNorm("bn1", Shape.flat(4), 0.9, 1e-3, true, d),
                new Relu("relu1", Shape.flat(4), d),
                new Dense("fc2", Shape.flat(4), 5, true, true, ParamSpec.Init.GLOROT_UNIFORM, d),
                new BatchNorm("bn2", Shape.flat(5), 0.9, 1e-3, true, d),
                new BatchNorm("bn3", Shape.flat(5), 0.9, 1e-3, false, d)),
            d);
    m.initialize(3);
    // Stale moving statistics far from the data: the shift they provide must not matter.
    m.tensor("bn1.running_mean").assign(50);
    m.tensor("bn1.running_var").assign(1e3);
    m.tensor("bn2.running_mean").assign(-20);
    return m;
  }

  private static INDArray batch(final SplittableRandom random, final int n) {
    final double[] v = new double[n * 3];
    for (int i = 0; i < v.length; i++) {
      v[i] = 3 + 2 * random.nextDouble() + (i % 3);
    }
    return Nd4j.createFromArray(v).reshape(n, 3);
  }

  private static double[][] inputOf(final Model m, final int bnLayer) {
    return m.lastOutputs().get(bnLayer - 1).toDoubleMatrix();
  }

  @Test
  void movingStatisticsBecomeTheCountWeightedPopulationStatisticsOfEveryBnInput() {
    final Model m = model();
    final INDArray frozenBefore = m.tensor("bn3.running_mean").dup();
    final PreciseBn precise = new PreciseBn(m);
    final SplittableRandom random = new SplittableRandom(11);
    final List<double[][]> in1 = new ArrayList<>();
    final List<double[][]> in2 = new ArrayList<>();
    final List<double[]> batchMeans2 = new ArrayList<>();
    for (final int n : new int[] {5, 9, 2}) {
      m.forward(batch(random, n), StepContext.training(1, 0, n));
      precise.accumulate();
      in1.add(inputOf(m, BN1));
      in2.add(inputOf(m, BN2));
      batchMeans2.add(PopulationStatistics.of(List.<double[][]>of(inputOf(m, BN2)))[0]);
    }
    precise.apply();

    final double[][] p1 = PopulationStatistics.of(in1);
    final double[][] p2 = PopulationStatistics.of(in2);
    assertArrayEquals(p1[0], m.tensor("bn1.running_mean").toDoubleVector(), 1e-10);
    assertArrayEquals(p1[1], m.tensor("bn1.running_var").toDoubleVector(), 1e-10);
    assertArrayEquals(p2[0], m.tensor("bn2.running_mean").toDoubleVector(), 1e-10);
    assertArrayEquals(p2[1], m.tensor("bn2.running_var").toDoubleVector(), 1e-10);
    assertEquals(frozenBefore, m.tensor("bn3.running_mean"), "a frozen layer is left alone");
    assertEquals(3, precise.forwards());

    // Negative control: the unweighted mean of the three batch means is another number.
    final double unweighted =
        (batchMeans2.get(0)[0] + batchMeans2.get(1)[0] + batchMeans2.get(2)[0]) / 3;
    assertTrue(Math.abs(unweighted - p2[0][0]) > 1e-3, "batch sizes 5, 9, 2 must weigh");
  }

  @Test
  void towersWithLocalBnAgreeBitForBitOnThePopulationOfAllTheirShards() throws Exception {
    final int towers = 2;
    final InProcessGroup group = new InProcessGroup(towers);
    final int[][] shards = {{4, 6, 3}, {4, 5, 1}};
    final ExecutorService pool = Executors.newFixedThreadPool(towers);
    try {
      final List<Future<Object[]>> results = new ArrayList<>();
      for (int r = 0; r < towers; r++) {
        final int rank = r;
        results.add(
            pool.submit(
                () -> {
                  final Model m = model();
                  final PreciseBn precise = new PreciseBn(m);
                  final SplittableRandom random = new SplittableRandom(100 + rank);
                  final List<double[][]> inputs = new ArrayList<>();
                  for (final int n : shards[rank]) {
                    m.forward(batch(random, n), StepContext.training(1, 0, n));
                    precise.accumulate();
                    inputs.add(inputOf(m, BN2));
                  }
                  final Collective c = group.member(rank);
                  precise.reduce(c);
                  precise.apply();
                  return new Object[] {m.state().dup(), inputs};
                }));
      }
      final List<double[][]> all = new ArrayList<>();
      final List<INDArray> states = new ArrayList<>();
      for (final Future<Object[]> f : results) {
        final Object[] o = f.get(30, TimeUnit.SECONDS);
        states.add((INDArray) o[0]);
        @SuppressWarnings("unchecked")
        final List<double[][]> inputs = (List<double[][]>) o[1];
        all.addAll(inputs);
      }
      assertEquals(states.get(0), states.get(1), "every tower applies the same values");
      final Model shape = model();
      shape.state().assign(states.get(0));
      final double[][] p = PopulationStatistics.of(all);
      assertArrayEquals(p[0], shape.tensor("bn2.running_mean").toDoubleVector(), 1e-10);
      assertArrayEquals(p[1], shape.tensor("bn2.running_var").toDoubleVector(), 1e-10);
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void applyingWithoutSamplesNamesTheLayer() {
    final Model m = model();
    final IllegalStateException e =
        assertThrows(IllegalStateException.class, () -> new PreciseBn(m).apply());
    assertTrue(e.getMessage().contains("'bn1'"), e.getMessage());
  }
}
