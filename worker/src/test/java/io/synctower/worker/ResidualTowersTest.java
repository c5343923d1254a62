package io.synctower.worker;

import static io.synctower.worker.TowerInvarianceTest.assertMatches;
import static io.synctower.worker.TowerInvarianceTest.assertReplicasIdentical;
import static io.synctower.worker.TowerInvarianceTest.maxRelativeDifference;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.comm.InProcessGroup;
import io.synctower.common.nn.BnTraining;
import io.synctower.common.nn.Model;
import io.synctower.common.optim.OptimizerSpec;
import io.synctower.worker.TowerHarness.Net;
import io.synctower.worker.TowerHarness.Outcome;
import io.synctower.worker.TowerHarness.Setup;
import io.synctower.worker.TowerHarness.Variant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * docs/design.md's invariants on a residual network (a projection block with stride 2 and an
 * identity block, {@link TowerHarness#residual}), float64, 1e-10: SyncBN on N towers with uneven
 * shards equals one tower on the whole batch; local BN equals ghost BN; sync groups keep their
 * statistics inside; frozen layers and a frozen prefix ending inside a block; gradient buckets
 * overlapped with backward give the bits of the one-round step. The reference is always one tower
 * running the plain single-device step on the global batch.
 */
class ResidualTowersTest {
  private static final OptimizerSpec ADAM = OptimizerSpec.adam(0.05);
  private static final OptimizerSpec SGD_NESTEROV =
      OptimizerSpec.builder(OptimizerSpec.Type.SGD)
          .lr(0.05)
          .momentum(OptimizerSpec.Momentum.NESTEROV, 0.9)
          .weightDecay(1e-3)
          .build();

  private static Setup setup(
      final int towers, final int batch, final OptimizerSpec opt, final boolean frozenFirstBn) {
    return new Setup(
        towers, BnTraining.SYNC, 0, 0, batch, 3, opt, 1.0, frozenFirstBn, Net.RESIDUAL);
  }

  private static Outcome single(final Setup s, final BnTraining mode, final int ghost)
      throws Exception {
    return TowerHarness.run(s.withTowers(1, mode, ghost, 0), s.towers());
  }

  private static Outcome run(final Setup s, final long bucketBytes, final boolean frozenConv1)
      throws Exception {
    final InProcessGroup world = new InProcessGroup(s.towers());
    return TowerHarness.run(
        s, s.towers(), new Variant(world::member, bucketBytes, -1, frozenConv1));
  }

  @ParameterizedTest(name = "{0} towers, batch {1}, {2}")
  @CsvSource({"1, 10, adam", "2, 10, sgd", "3, 10, adam", "4, 10, sgd", "4, 6, adam"})
  void syncBnOnNTowersShouldEqualOneTowerOnTheWholeBatch(
      final int towers, final int batch, final String optimizer) throws Exception {
    final Setup s = setup(towers, batch, optimizer.equals("adam") ? ADAM : SGD_NESTEROV, false);
    final Outcome many = TowerHarness.run(s);
    assertMatches(single(s, BnTraining.LOCAL, 0), many, "residual, SyncBN, " + towers + " towers");
    assertReplicasIdentical(many);
  }

  @Test
  void withoutSyncBnTheTowersShouldNotMatchOneTower() throws Exception {
    final Setup s = setup(4, 12, ADAM, false).withTowers(4, BnTraining.LOCAL, 0, 0);
    final Outcome many = TowerHarness.run(s);
    final Outcome one = single(s, BnTraining.LOCAL, 0);
    final double diff = maxRelativeDifference(one.parameters().get(0), many.parameters().get(0));
    assertTrue(diff > 1e-4, "local BN on 4 towers must differ from 1 tower, differs by " + diff);
  }

  @Test
  void localBnOnNTowersShouldEqualGhostBnWithShardSizedVirtualBatches() throws Exception {
    final Setup s = setup(3, 12, ADAM, false).withTowers(3, BnTraining.LOCAL, 0, 0);
    final Outcome many = TowerHarness.run(s);
    assertMatches(single(s, BnTraining.GHOST, 4), many, "residual, local BN vs ghost 4");
    assertReplicasIdentical(many);
  }

  @Test
  void syncGroupsShouldKeepStatisticsInsideTheGroup() throws Exception {
    final Setup s = setup(4, 12, ADAM, false).withTowers(4, BnTraining.SYNC, 0, 2);
    final Outcome grouped = TowerHarness.run(s);
    assertMatches(single(s, BnTraining.GHOST, 6), grouped, "residual, sync groups of 2");
    assertReplicasIdentical(grouped);
  }

  @ParameterizedTest(name = "frozen layer1.0.bn1 {0}, frozen layer1.0.conv1 {1}")
  @CsvSource({"true, false", "false, true", "true, true"})
  void frozenLayersInsideABlockShouldStillMatchOneTower(
      final boolean frozenBn, final boolean frozenConv) throws Exception {
    final Setup s = setup(3, 10, ADAM, frozenBn);
    final Model m = TowerHarness.model(Net.RESIDUAL, frozenBn, frozenConv);
    if (frozenConv) {
      // The frozen prefix ends inside the first block: backward stops there.
      final String first = m.layers().get(m.firstLayerNeedingGradient()).name();
      assertEquals(frozenBn ? "layer1.0.conv2" : "layer1.0.bn1", first);
    }
    final Outcome many = run(s, 0, frozenConv);
    final InProcessGroup one = new InProcessGroup(1);
    final Outcome reference =
        TowerHarness.run(
            s.withTowers(1, BnTraining.LOCAL, 0, 0),
            3,
            new Variant(one::member, 0, -1, frozenConv));
    assertMatches(reference, many, "residual, frozen bn " + frozenBn + ", conv " + frozenConv);
    assertReplicasIdentical(many);
    final Model initial = TowerHarness.model(Net.RESIDUAL, frozenBn, frozenConv);
    if (frozenBn) {
      assertArrayEquals(
          initial.tensor("layer1.0.bn1.running_mean").toDoubleVector(),
          stateOf(many, "layer1.0.bn1.running_mean", frozenConv),
          0.0,
          "a frozen BN's moving mean never moves");
    }
    if (frozenConv) {
      assertArrayEquals(
          initial.tensor("layer1.0.conv1.weight").dup().reshape(-1).toDoubleVector(),
          parameterOf(many, "layer1.0.conv1.weight", frozenBn),
          0.0,
          "a frozen convolution never moves");
    }
  }

  private static double[] stateOf(final Outcome o, final String key, final boolean frozenConv) {
    final Model m = TowerHarness.model(Net.RESIDUAL, true, frozenConv);
    m.state().assign(org.nd4j.linalg.factory.Nd4j.createFromArray(o.states().get(0)));
    return m.tensor(key).dup().reshape(-1).toDoubleVector();
  }

  private static double[] parameterOf(final Outcome o, final String key, final boolean frozenBn) {
    final Model m = TowerHarness.model(Net.RESIDUAL, frozenBn, true);
    m.parameters().assign(org.nd4j.linalg.factory.Nd4j.createFromArray(o.parameters().get(0)));
    return m.tensor(key).dup().reshape(-1).toDoubleVector();
  }

  // 1 byte: a bucket per layer with parameters; 200 bytes: buckets of several layers, cut inside
  // blocks (25 doubles), so a bucket may end between a block's branches.
  @ParameterizedTest(name = "buckets of {0} bytes, frozen layer1.0.conv1 {1}")
  @CsvSource({"1, false", "1, true", "200, false", "200, true"})
  void bucketedStepsShouldEqualTheOneRoundStepBitForBit(
      final long bucketBytes, final boolean frozenConv1) throws Exception {
    final Setup s = setup(3, 11, ADAM, true);
    GradientBucketsTest.assertSameBits(
        run(s, 0, frozenConv1), run(s, bucketBytes, frozenConv1), bucketBytes + " bytes");
  }

  @Test
  void towersWithAnEmptyShardShouldJoinEveryCollectiveOfAResidualNet() throws Exception {
    // Global batch 2 over 3 towers: tower 2 has no samples and joins every BN round and bucket.
    final Setup s = setup(3, 2, ADAM, false);
    final Outcome bucketed = run(s, 1, false);
    GradientBucketsTest.assertSameBits(run(s, 0, false), bucketed, "empty shard");
    assertMatches(single(s, BnTraining.LOCAL, 0), bucketed, "residual, empty shard");
  }
}
