package io.synctower.worker;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.comm.InProcessGroup;
import io.synctower.common.nn.BnTraining;
import io.synctower.common.nn.Model;
import io.synctower.common.nn.SoftmaxCrossEntropy;
import io.synctower.common.nn.StatsReducer;
import io.synctower.common.nn.StepContext;
import io.synctower.common.optim.OptimizerSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * A NaN on one tower: every tower agrees, in the same all-reduce, that the step is not applied
 * (parameters, moving statistics and optimizer state unchanged everywhere), and only the tower
 * whose values went bad says where.
 */
class NonFiniteStepTest {
  private static final int TOWERS = 2;
  private static final int BATCH = 8;

  private record Run(List<Tower> towers, List<StepResult> results) {}

  private static Run step(final INDArray x, final Model template) throws Exception {
    return step(x, template, r -> io.synctower.common.nn.StatsReducer.LOCAL, BnTraining.LOCAL);
  }

  private static Run step(
      final INDArray x,
      final Model template,
      final java.util.function.IntFunction<io.synctower.common.nn.StatsReducer> reducers,
      final BnTraining bn)
      throws Exception {
    final InProcessGroup world = new InProcessGroup(TOWERS);
    final List<Tower> towers = new ArrayList<>();
    for (int r = 0; r < TOWERS; r++) {
      final Model m = TowerHarness.model(false);
      if (template != null) {
        m.parameters().assign(template.parameters());
      }
      towers.add(
          new Tower(
              m,
              new SoftmaxCrossEntropy(1, TowerHarness.CLASSES, DataType.DOUBLE),
              OptimizerSpec.adam(0.05).create(m.parameters(), m.trainableRanges()),
              world.member(r)));
    }
    final int[] labels = new int[BATCH];
    final ExecutorService pool = Executors.newFixedThreadPool(TOWERS);
    try {
      final List<Future<StepResult>> futures = new ArrayList<>();
      for (int r = 0; r < TOWERS; r++) {
        final int offset = r * BATCH / TOWERS;
        final int size = BATCH / TOWERS;
        final INDArray shard = x.get(NDArrayIndex.interval(offset, offset + size)).dup();
        final int[] shardLabels = new int[size];
        System.arraycopy(labels, offset, shardLabels, 0, size);
        final Tower tower = towers.get(r);
        final StepContext ctx =
            new StepContext(true, bn, 0, reducers.apply(r), 5, 0, 0, 0).at(0, offset, BATCH);
        futures.add(pool.submit(() -> tower.trainStep(shard, shardLabels, ctx, 0.05)));
      }
      final List<StepResult> results = new ArrayList<>();
      for (final Future<StepResult> f : futures) {
        results.add(f.get());
      }
      return new Run(towers, results);
    } finally {
      pool.shutdownNow();
    }
  }

  private static INDArray batch() {
    Nd4j.getRandom().setSeed(3);
    final var in = TowerHarness.INPUT;
    return Nd4j.randn(DataType.DOUBLE, BATCH, in.dim(0), in.dim(1), in.dim(2));
  }

  @Test
  void aNanInOneTowersDataSkipsTheStepOnEveryTowerAndNamesTheInput() throws Exception {
    final Model initial = TowerHarness.model(false);
    final INDArray x = batch();
    x.putScalar(new long[] {BATCH - 1, 2, 3, 1}, Double.NaN); // a sample of tower 1's shard

    final Run run = step(x, null);

    for (int r = 0; r < TOWERS; r++) {
      final StepResult result = run.results().get(r);
      assertTrue(result.skipped(), "tower " + r + " must skip the step");
      final Model m = run.towers().get(r).model();
      assertArrayEquals(
          initial.parameters().toDoubleVector(),
          m.parameters().toDoubleVector(),
          0.0,
          "tower " + r + ": parameters changed by a skipped step");
      assertArrayEquals(
          initial.state().toDoubleVector(),
          m.state().toDoubleVector(),
          0.0,
          "tower " + r + ": moving statistics changed by a skipped step");
      assertEquals(0, run.towers().get(r).optimizer().state().updates());
      assertEquals(1, result.culprit(), "every tower names tower 1, whose data held the NaN");
    }
    assertEquals("", run.results().get(0).nonFinite(), "tower 0's own values were finite");
    assertTrue(
        run.results().get(1).nonFinite().contains("input batch"), run.results().get(1).nonFinite());
  }

  @Test
  void aNonFiniteWeightIsTracedToTheFirstLayerWhoseOutputItSpoils() throws Exception {
    final Model poisoned = TowerHarness.model(false);
    // fc1 is layer 6; every layer before it stays finite.
    poisoned.tensor("fc1.weight").putScalar(0, Double.POSITIVE_INFINITY);

    final Run run = step(batch(), poisoned);

    for (int r = 0; r < TOWERS; r++) {
      final StepResult result = run.results().get(r);
      assertTrue(result.skipped());
      // Both replicas hold the bad weight: same depth, so the lowest rank is named.
      assertEquals(0, result.culprit());
    }
    assertTrue(
        run.results().get(0).nonFinite().startsWith("the output of layer 6 (dense 'fc1')"),
        run.results().get(0).nonFinite());
    assertEquals("", run.results().get(1).nonFinite());
  }

  @Test
  void withSyncBnTheTowerWhereTheNanStartedIsNamedThoughItSpreadToTheOthers() throws Exception {
    final INDArray x = batch();
    x.putScalar(new long[] {0, 1, 1, 0}, Double.NaN); // a sample of tower 0's shard
    final InProcessGroup stats = new InProcessGroup(TOWERS);
    final Run run =
        step(
            x,
            null,
            r -> StatsReducer.of(r, TOWERS, stats.member(r)::allReduceSum),
            BnTraining.SYNC);
    for (int r = 0; r < TOWERS; r++) {
      assertTrue(run.results().get(r).skipped());
      assertEquals(0, run.results().get(r).culprit(), "tower " + r);
    }
    assertTrue(run.results().get(0).nonFinite().contains("input batch"));
    assertEquals("", run.results().get(1).nonFinite(), "tower 1 only received the NaN");
  }

  @Test
  void aFiniteStepIsAppliedAndReportsNothing() throws Exception {
    final Model initial = TowerHarness.model(false);
    final Run run = step(batch(), null);
    for (int r = 0; r < TOWERS; r++) {
      assertFalse(run.results().get(r).skipped());
      assertEquals("", run.results().get(r).nonFinite());
      assertEquals(1, run.towers().get(r).optimizer().state().updates());
      assertFalse(
          java.util.Arrays.equals(
              initial.parameters().toDoubleVector(),
              run.towers().get(r).model().parameters().toDoubleVector()));
    }
  }
}
