package io.synctower.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.nn.BnTraining;
import io.synctower.common.optim.OptimizerSpec;
import io.synctower.worker.TowerHarness.Outcome;
import io.synctower.worker.TowerHarness.Setup;
import java.util.HashSet;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * docs/design.md's consequences, proven on a float64 model (conv-BN-relu-pool, dropout, dense-BN on
 * vectors, dense) over several steps with optimizer state: N towers with SyncBN equal one tower on
 * the whole batch; N towers with local BN equal one tower with ghost BN; replicas stay identical.
 * The reference is always one tower running the plain single-device step on the global batch.
 */
class TowerInvarianceTest {
  private static final double TOLERANCE = 1e-10;
  private static final OptimizerSpec ADAM = OptimizerSpec.adam(0.05);
  private static final OptimizerSpec SGD_NESTEROV =
      OptimizerSpec.builder(OptimizerSpec.Type.SGD)
          .lr(0.05)
          .momentum(OptimizerSpec.Momentum.NESTEROV, 0.9)
          .weightDecay(1e-3)
          .build();

  private static Setup setup(final int towers, final int batch, final OptimizerSpec opt) {
    return new Setup(towers, BnTraining.SYNC, 0, 0, batch, 4, opt, 1.0, false);
  }

  private static Outcome single(final Setup s, final BnTraining mode, final int ghost)
      throws Exception {
    return TowerHarness.run(s.withTowers(1, mode, ghost, 0), s.towers());
  }

  @ParameterizedTest(name = "{0} towers, batch {1}, {2}")
  @CsvSource({
    "1, 12, adam",
    "2, 12, adam",
    "3, 12, sgd",
    "4, 12, adam",
    "8, 12, sgd",
    "3, 10, adam",
    "4, 10, sgd",
    "4, 4, adam",
    "8, 6, adam"
  })
  void syncBnOnNTowersEqualsOneTowerOnTheWholeBatch(
      final int towers, final int batch, final String optimizer) throws Exception {
    final Setup s = setup(towers, batch, optimizer.equals("adam") ? ADAM : SGD_NESTEROV);
    final Outcome many = TowerHarness.run(s);
    final Outcome one = single(s, BnTraining.LOCAL, 0);
    assertMatches(one, many, "SyncBN, " + towers + " towers");
    assertReplicasIdentical(many);
  }

  @Test
  void withoutSyncBnTheTowersDoNotMatchOneTower() throws Exception {
    final Setup s = setup(4, 12, ADAM).withTowers(4, BnTraining.LOCAL, 0, 0);
    final Outcome many = TowerHarness.run(s);
    final Outcome one = single(s, BnTraining.LOCAL, 0);
    final double diff = maxRelativeDifference(one.parameters().get(0), many.parameters().get(0));
    assertTrue(diff > 1e-4, "local BN on 4 towers must differ from 1 tower, differs by " + diff);
    assertReplicasIdentical(many);
  }

  @ParameterizedTest(name = "{0} towers of {1}")
  @CsvSource({"2, 6", "3, 4", "4, 3"})
  void localBnOnNTowersEqualsGhostBnWithShardSizedVirtualBatches(final int towers, final int shard)
      throws Exception {
    final Setup s = setup(towers, towers * shard, ADAM).withTowers(towers, BnTraining.LOCAL, 0, 0);
    final Outcome many = TowerHarness.run(s);
    final Outcome ghost = single(s, BnTraining.GHOST, shard);
    assertMatches(ghost, many, "local BN vs ghost " + shard);
    assertReplicasIdentical(many);
  }

  @Test
  void syncGroupsKeepStatisticsInsideTheGroup() throws Exception {
    // 4 towers of 3, groups of 2: each group normalizes its 6 contiguous samples = ghost BN of 6.
    final Setup s = setup(4, 12, ADAM).withTowers(4, BnTraining.SYNC, 0, 2);
    final Outcome grouped = TowerHarness.run(s);
    final Outcome ghost = single(s, BnTraining.GHOST, 6);
    assertMatches(ghost, grouped, "sync groups of 2");
    assertReplicasIdentical(grouped);
    final Outcome whole = single(s, BnTraining.LOCAL, 0);
    assertTrue(
        maxRelativeDifference(whole.parameters().get(0), grouped.parameters().get(0)) > 1e-4,
        "groups of 2 must not behave like one group of 4");
  }

  @Test
  void aShardFiftyTimesLargerStillMatches() throws Exception {
    final Setup base = setup(3, 12, ADAM);
    final Setup s = new Setup(3, BnTraining.SYNC, 0, 0, 12, 4, ADAM, 50.0, false);
    final Outcome many = TowerHarness.run(s);
    final Outcome one = single(s, BnTraining.LOCAL, 0);
    assertMatches(one, many, "shard 0 x50");
    assertTrue(
        maxRelativeDifference(TowerHarness.run(base).parameters().get(0), many.parameters().get(0))
            > 1e-6,
        "the x50 scaling must change the run (else the test proves nothing)");
  }

  @Test
  void movingStatisticsMoveInTheFirstStepOnEveryTower() throws Exception {
    final Setup s = new Setup(4, BnTraining.SYNC, 0, 0, 12, 1, ADAM, 1.0, false);
    final double[] initial = TowerHarness.model(false).state().toDoubleVector();
    for (final BnTraining mode : BnTraining.values()) {
      final Outcome o =
          TowerHarness.run(s.withTowers(4, mode, mode == BnTraining.GHOST ? 2 : 0, 0));
      for (final double[] state : o.states()) {
        for (int i = 0; i < state.length; i++) {
          assertTrue(state[i] != initial[i], mode + ": moving statistic " + i + " never updated");
        }
      }
      assertReplicasIdentical(o);
    }
  }

  @Test
  void frozenBnIssuesNoCollectivesAndUpdatesNothing() throws Exception {
    final Setup s = new Setup(4, BnTraining.SYNC, 0, 0, 12, 3, ADAM, 1.0, true);
    final Outcome many = TowerHarness.run(s);
    // Only bn2 synchronizes: one gather in forward, one all-reduce in backward, per step and tower.
    assertEquals(2, many.statsReductionsPerStep());
    final double[] frozenInitial = TowerHarness.model(true).state().toDoubleVector();
    for (final double[] state : many.states()) {
      for (int i = 0; i < 8; i++) { // bn1's running_mean (4) and running_var (4) come first
        assertEquals(frozenInitial[i], state[i], 0.0, "frozen bn1 state " + i);
      }
    }
    assertMatches(single(s, BnTraining.LOCAL, 0), many, "frozen bn1, SyncBN bn2");
  }

  /** Losses and gradients per step, then every tower's parameters and moving statistics. */
  static void assertMatches(final Outcome expected, final Outcome actual, final String what) {
    for (int step = 0; step < expected.losses().length; step++) {
      assertClose(expected.losses()[step], actual.losses()[step], what + ", loss at step " + step);
      final double g =
          maxRelativeDifference(expected.gradients().get(step), actual.gradients().get(step));
      assertTrue(g <= TOLERANCE, what + ", gradient at step " + step + " differs by " + g);
    }
    for (int r = 0; r < actual.parameters().size(); r++) {
      final double p =
          maxRelativeDifference(expected.parameters().get(0), actual.parameters().get(r));
      assertTrue(p <= TOLERANCE, what + ", parameters of tower " + r + " differ by " + p);
      final double m = maxRelativeDifference(expected.states().get(0), actual.states().get(r));
      assertTrue(m <= TOLERANCE, what + ", moving statistics of tower " + r + " differ by " + m);
    }
  }

  static void assertReplicasIdentical(final Outcome o) {
    for (int step = 0; step < o.hashesPerStep().size(); step++) {
      final List<Long> hashes = o.hashesPerStep().get(step);
      assertEquals(
          1, new HashSet<>(hashes).size(), "replica hashes at step " + step + ": " + hashes);
    }
  }

  private static void assertClose(final double expected, final double actual, final String what) {
    final double rel = Math.abs(expected - actual) / Math.max(1.0, Math.abs(expected));
    assertTrue(rel <= TOLERANCE, what + ": expected " + expected + ", got " + actual);
  }

  /** max |a - b| / max(1, |a|) over the elements. */
  static double maxRelativeDifference(final double[] a, final double[] b) {
    assertEquals(a.length, b.length);
    double max = 0;
    for (int i = 0; i < a.length; i++) {
      max = Math.max(max, Math.abs(a[i] - b[i]) / Math.max(1.0, Math.abs(a[i])));
    }
    return max;
  }
}
