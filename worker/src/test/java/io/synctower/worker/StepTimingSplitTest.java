package io.synctower.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.bn.TimedStatsReducer;
import io.synctower.common.nn.BnTraining;
import io.synctower.common.nn.Model;
import io.synctower.common.nn.SoftmaxCrossEntropy;
import io.synctower.common.nn.StatsReducer;
import io.synctower.common.nn.StepContext;
import io.synctower.common.optim.OptimizerSpec;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * SyncBN's statistic reductions are reported on their own ({@link StepResult#bnReduceNanos}) and
 * taken out of forward and backward. The oracle is a reducer that busy-waits a known minimum per
 * call and counts its calls: the step must report at least calls x delay, exactly what the timed
 * reducer accumulated during that step (not since it was created), and no more than the whole step.
 */
class StepTimingSplitTest {
  private static final long DELAY_NANOS = 3_000_000;
  private static final int BATCH = 6;

  private static final class SlowReducer implements StatsReducer {
    int calls;

    @Override
    public void sumInPlace(final INDArray partials) {
      calls++;
      final long until = System.nanoTime() + DELAY_NANOS;
      while (System.nanoTime() < until) {
        Thread.onSpinWait();
      }
    }

    @Override
    public int groupSize() {
      return 1;
    }

    @Override
    public int groupRank() {
      return 0;
    }
  }

  private static Tower tower() {
    final Model m = TowerHarness.model(false);
    return new Tower(
        m,
        new SoftmaxCrossEntropy(1, TowerHarness.CLASSES, DataType.DOUBLE),
        OptimizerSpec.sgd(0.1).create(m.parameters(), m.trainableRanges()));
  }

  private static INDArray inputs() {
    Nd4j.getRandom().setSeed(3);
    return Nd4j.randn(DataType.DOUBLE, BATCH, 6, 6, 2);
  }

  @Test
  void shouldReportSyncBnReductionsApartFromComputeStepByStep() {
    final SlowReducer slow = new SlowReducer();
    final TimedStatsReducer timed = new TimedStatsReducer(slow);
    final StepContext ctx = new StepContext(true, BnTraining.SYNC, 0, timed, 5, 0, 0, BATCH);
    final Tower tower = tower();
    final int[] labels = {0, 1, 2, 3, 4, 0};
    long before = 0;
    for (int step = 0; step < 2; step++) {
      final int callsBefore = slow.calls;
      final StepResult r = tower.trainStep(inputs(), labels, ctx.at(step, 0, BATCH), 0.1);
      final int calls = slow.calls - callsBefore;
      // Two BN layers: forward gathers the towers' partials, backward reduces its two sums.
      assertTrue(calls >= 4, "reductions in step " + step + ": " + calls);
      assertEquals(
          timed.elapsedNanos() - before, r.times().bnReduceNanos(), "this step's share only");
      assertTrue(r.times().bnReduceNanos() >= calls * DELAY_NANOS, "at least the delays: " + r);
      assertTrue(r.times().forwardNanos() >= 0 && r.times().backwardNanos() >= 0, r.toString());
      assertTrue(r.totalNanos() >= r.times().bnReduceNanos(), r.toString());
      before = timed.elapsedNanos();
    }
  }

  @Test
  void shouldReportNoReductionTimeWhenTheReducerIsNotTimed() {
    final StepContext ctx =
        new StepContext(true, BnTraining.SYNC, 0, new SlowReducer(), 5, 0, 0, BATCH);
    final StepResult r = tower().trainStep(inputs(), new int[BATCH], ctx, 0.1);
    assertEquals(0, r.times().bnReduceNanos());
    // Untimed reductions stay inside the compute phases, as before.
    assertTrue(
        r.times().forwardNanos() + r.times().backwardNanos() >= 4 * DELAY_NANOS, r.toString());
  }
}
