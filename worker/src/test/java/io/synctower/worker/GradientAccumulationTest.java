package io.synctower.worker;

import static io.synctower.worker.TowerInvarianceTest.assertMatches;
import static io.synctower.worker.TowerInvarianceTest.assertReplicasIdentical;
import static io.synctower.worker.TowerInvarianceTest.maxRelativeDifference;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.comm.InProcessGroup;
import io.synctower.common.nn.BnTraining;
import io.synctower.common.optim.OptimizerSpec;
import io.synctower.worker.TowerHarness.Outcome;
import io.synctower.worker.TowerHarness.Setup;
import io.synctower.worker.TowerHarness.Variant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Gradient accumulation ({@link Tower#accumulateOver}) in float64 against an independent reference:
 * K micro-batches of m samples normalize each with its own BN statistics and update the moving
 * statistics once from the union of all of them, which is exactly one step of ghost BN with virtual
 * batches of m on the whole batch. So accumulation on N towers with local BN must give ghost BN's
 * losses, applied gradients, parameters and moving statistics (to 1e-10) over several steps with
 * optimizer state; the global batch and the step count are those of the run without accumulation.
 */
class GradientAccumulationTest {
  private static final double TOLERANCE = 1e-10;
  private static final OptimizerSpec ADAM = OptimizerSpec.adam(0.05);
  private static final OptimizerSpec SGD_NESTEROV =
      OptimizerSpec.builder(OptimizerSpec.Type.SGD)
          .lr(0.05)
          .momentum(OptimizerSpec.Momentum.NESTEROV, 0.9)
          .weightDecay(1e-3)
          .build();

  private static Setup setup(
      final int towers, final BnTraining bn, final int batch, final OptimizerSpec opt) {
    return new Setup(towers, bn, 0, 0, batch, 4, opt, 1.0, false);
  }

  private static Outcome accumulated(final Setup s, final int k) throws Exception {
    return TowerHarness.run(s, s.towers(), plain(s), k);
  }

  private static Variant plain(final Setup s) {
    return new Variant(new InProcessGroup(s.towers())::member, -1, -1, false);
  }

  /** One tower, no accumulation, ghost BN with virtual batch {@code ghost}, on the whole batch. */
  private static Outcome ghostReference(final Setup s, final int ghost) throws Exception {
    return TowerHarness.run(s.withTowers(1, BnTraining.GHOST, ghost, 0), s.towers());
  }

  @ParameterizedTest(name = "{0} tower(s), batch {1}, {2} micro-batches, {3}")
  @CsvSource({
    "1, 12, 2, adam",
    "1, 12, 3, sgd",
    "1, 12, 4, adam",
    "1, 12, 12, adam",
    "2, 12, 2, adam",
    "2, 12, 3, sgd",
    "3, 12, 2, adam",
    "3, 12, 4, sgd"
  })
  void accumulationEqualsGhostBnWithMicroBatchSizedVirtualBatches(
      final int towers, final int batch, final int k, final String optimizer) throws Exception {
    final Setup s =
        setup(towers, BnTraining.LOCAL, batch, optimizer.equals("adam") ? ADAM : SGD_NESTEROV);
    final int micro = batch / towers / k;
    final Outcome acc = accumulated(s, k);
    assertMatches(ghostReference(s, micro), acc, k + " micro-batches of " + micro);
    assertReplicasIdentical(acc);
    // Else the test proves nothing: accumulation is not the step on the whole shard.
    assertTrue(
        maxRelativeDifference(TowerHarness.run(s).parameters().get(0), acc.parameters().get(0))
            > 1e-4,
        "accumulation with BN must differ from the step on whole shards");
  }

  @Test
  void unevenMicroBatchesFollowTheShardRule() throws Exception {
    // A shard of 10 in 3 micro-batches is 4/3/3, as a batch of 10 on 3 towers: so one tower with
    // accumulation equals 3 towers with local BN (itself proven equal to ghost BN of the shards).
    final Setup one = setup(1, BnTraining.LOCAL, 10, ADAM);
    final Outcome acc = accumulated(one, 3);
    final Outcome threeTowers = TowerHarness.run(one.withTowers(3, BnTraining.LOCAL, 0, 0), 1);
    assertMatches(threeTowers, acc, "1 tower, 10 in 3 micro-batches vs 3 towers of 4/3/3");
  }

  @Test
  void emptyMicroBatchesJoinTheirRoundsAndAddNothing() throws Exception {
    // 6 on 4 towers: shards 2/2/1/1; 2 micro-batches: 1/1, 1/1, 1/0, 1/0. Every micro-batch holds
    // one sample: ghost BN of 1. With SyncBN the towers with an empty micro-batch must join its
    // rounds or the others would wait forever.
    final Setup local = setup(4, BnTraining.LOCAL, 6, ADAM);
    final Outcome acc = accumulated(local, 2);
    assertMatches(ghostReference(local, 1), acc, "empty micro-batches, local BN");
    assertReplicasIdentical(acc);
    final Outcome sync = accumulated(setup(4, BnTraining.SYNC, 6, ADAM), 2);
    assertReplicasIdentical(sync);
  }

  @ParameterizedTest(name = "{0} towers, {1} micro-batches")
  @CsvSource({"2, 2", "3, 2", "2, 3"})
  void syncBnReducesEveryMicroBatchAndUpdatesTheMovingStatisticsOnceFromTheWholeBatch(
      final int towers, final int k) throws Exception {
    final Setup s = setup(towers, BnTraining.SYNC, 12, ADAM);
    final Outcome acc = accumulated(s, k);
    assertReplicasIdentical(acc);
    // Two BN layers, each one gather forward and one all-reduce backward, per micro-batch.
    assertEquals(4L * k, acc.statsReductionsPerStep());
    // Micro-batch j of every tower is normalized together: not local BN of the micro-batches.
    final Outcome local = accumulated(s.withTowers(towers, BnTraining.LOCAL, 0, 0), k);
    assertTrue(
        maxRelativeDifference(local.parameters().get(0), acc.parameters().get(0)) > 1e-4,
        "SyncBN micro-batches must differ from local BN micro-batches");
    // After one step bn1's input is conv1's output under the initial weights, whatever the BN
    // mode, so its moving statistics (the first 8 state values) are the union's of the whole
    // batch only if they were updated once from all micro-batches of all towers.
    final Setup oneStep = new Setup(towers, BnTraining.SYNC, 0, 0, 12, 1, ADAM, 1.0, false);
    final double[] expected = ghostReference(oneStep, 12 / towers / k).states().get(0);
    for (final double[] state : accumulated(oneStep, k).states()) {
      for (int i = 0; i < 8; i++) {
        assertEquals(
            expected[i],
            state[i],
            TOLERANCE * Math.max(1, Math.abs(expected[i])),
            "bn1 state " + i);
      }
    }
  }

  @ParameterizedTest(name = "{0}, bucketBytes {1}")
  @CsvSource({"LOCAL, -1", "SYNC, -1", "SYNC, 0", "SYNC, 256"})
  void oneMicroBatchIsTheStepWithoutAccumulationBitForBit(
      final BnTraining bn, final long bucketBytes) throws Exception {
    final Setup s = setup(3, bn, 12, ADAM);
    final Outcome before =
        TowerHarness.run(
            s, 3, new Variant(new InProcessGroup(3)::member, bucketBytes, -1, false), 0);
    final Outcome one =
        TowerHarness.run(
            s, 3, new Variant(new InProcessGroup(3)::member, bucketBytes, -1, false), 1);
    assertArrayEquals(before.losses(), one.losses());
    for (int step = 0; step < s.steps(); step++) {
      assertArrayEquals(before.gradients().get(step), one.gradients().get(step));
      assertEquals(before.hashesPerStep().get(step), one.hashesPerStep().get(step));
    }
    for (int r = 0; r < 3; r++) {
      assertArrayEquals(before.parameters().get(r), one.parameters().get(r));
      assertArrayEquals(before.states().get(r), one.states().get(r));
    }
  }

  @Test
  void bucketsPlayNoPartWithAccumulation() throws Exception {
    final Setup s = setup(3, BnTraining.SYNC, 12, ADAM);
    final Outcome oneRound =
        TowerHarness.run(s, 3, new Variant(new InProcessGroup(3)::member, 0, -1, false), 2);
    final Outcome buckets =
        TowerHarness.run(s, 3, new Variant(new InProcessGroup(3)::member, 256, -1, false), 2);
    assertArrayEquals(oneRound.parameters().get(0), buckets.parameters().get(0));
    assertArrayEquals(oneRound.states().get(0), buckets.states().get(0));
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({"LOCAL", "SYNC"})
  void aNanInOneMicroBatchSkipsTheWholeStepOnEveryTower(final BnTraining bn) throws Exception {
    // Step 1: the last tower's first micro-batch holds a NaN, its second is finite.
    final Setup twoSteps = new Setup(3, bn, 0, 0, 12, 2, ADAM, 1.0, false);
    final Outcome nan =
        TowerHarness.run(twoSteps, 3, new Variant(new InProcessGroup(3)::member, -1, 1, false), 2);
    assertFalse(nan.skipped()[0]);
    assertTrue(nan.skipped()[1], "the step with a NaN micro-batch must be skipped");
    final Setup oneStep = new Setup(3, bn, 0, 0, 12, 1, ADAM, 1.0, false);
    final Outcome before = accumulated(oneStep, 2);
    for (int r = 0; r < 3; r++) {
      assertArrayEquals(before.parameters().get(0), nan.parameters().get(r), "tower " + r);
      assertArrayEquals(before.states().get(0), nan.states().get(r), "tower " + r);
    }
    assertReplicasIdentical(nan);
  }

  @Test
  void refusesFewerThanOneMicroBatch() {
    final Tower t =
        new Tower(
            TowerHarness.model(false),
            new io.synctower.common.nn.SoftmaxCrossEntropy(
                1, TowerHarness.CLASSES, org.nd4j.linalg.api.buffer.DataType.DOUBLE),
            ADAM.create(
                TowerHarness.model(false).parameters(),
                TowerHarness.model(false).trainableRanges()));
    assertThrows(IllegalArgumentException.class, () -> t.accumulateOver(0));
  }
}
