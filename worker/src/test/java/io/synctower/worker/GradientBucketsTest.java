package io.synctower.worker;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.comm.InProcessGroup;
import io.synctower.common.config.ConfigException;
import io.synctower.common.nn.BnTraining;
import io.synctower.common.nn.Model;
import io.synctower.common.nn.SoftmaxCrossEntropy;
import io.synctower.common.optim.OptimizerSpec;
import io.synctower.worker.TowerHarness.Outcome;
import io.synctower.worker.TowerHarness.Setup;
import io.synctower.worker.TowerHarness.Variant;
import io.synctower.worker.transport.AeronGroup;
import io.synctower.worker.transport.TransportKind;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * The gradient all-reduce overlapped with backward in buckets ({@link GradientBuckets}) gives the
 * bits of the one-round step: parameters, moving statistics, the reduced gradient each step
 * applied, and the skipped non-finite step, for bucket sizes that cut the buffer unevenly, with a
 * frozen prefix (no backward, no gradient written) and a frozen layer in the middle. 3 towers, so a
 * different association of the sums would show; float64 and Adam, so it would show in the bits.
 */
class GradientBucketsTest {
  private static final OptimizerSpec ADAM = OptimizerSpec.adam(0.05);

  /** SyncBN, global batch 11 (shards 4, 4, 3), bn1 frozen, 4 steps. */
  private static Setup setup(final int towers) {
    return new Setup(towers, BnTraining.SYNC, 0, 0, 11, 4, ADAM, 1.0, true);
  }

  private static Outcome run(
      final Setup s, final long bucketBytes, final int nanStep, final boolean frozenConv1)
      throws Exception {
    final InProcessGroup world = new InProcessGroup(s.towers());
    return TowerHarness.run(
        s, s.towers(), new Variant(world::member, bucketBytes, nanStep, frozenConv1));
  }

  static void assertSameBits(final Outcome expected, final Outcome actual, final String what) {
    assertArrayEquals(expected.losses(), actual.losses(), 0.0, what + ": losses");
    for (int step = 0; step < expected.gradients().size(); step++) {
      assertArrayEquals(
          expected.gradients().get(step),
          actual.gradients().get(step),
          0.0,
          what + ": reduced gradient of step " + step);
    }
    for (int r = 0; r < expected.parameters().size(); r++) {
      assertArrayEquals(
          expected.parameters().get(r), actual.parameters().get(r), 0.0, what + ": params " + r);
      assertArrayEquals(
          expected.states().get(r), actual.states().get(r), 0.0, what + ": BN state " + r);
    }
    assertArrayEquals(expected.skipped(), actual.skipped(), what + ": skipped steps");
    assertEquals(expected.hashesPerStep(), actual.hashesPerStep(), what + ": replica hashes");
  }

  // 1 byte: a bucket per layer with parameters; 200 bytes (25 doubles): buckets of several layers,
  // cut unevenly, most far below a chunk; 1 MiB: one bucket, i.e. the one-round path.
  @ParameterizedTest(name = "buckets of {0} bytes, frozen conv1 {1}")
  @CsvSource({"1, false", "1, true", "200, false", "200, true", "1048576, true"})
  void bucketedStepsShouldEqualTheOneRoundStepBitForBit(
      final long bucketBytes, final boolean frozenConv1) throws Exception {
    final Setup s = setup(3);
    final Outcome oneRound = run(s, 0, -1, frozenConv1);
    final Outcome bucketed = run(s, bucketBytes, -1, frozenConv1);
    assertSameBits(oneRound, bucketed, bucketBytes + " bytes");
  }

  @Test
  void aNonFiniteStepShouldApplyNothingAndBeSkippedAsWithOneRound() throws Exception {
    final Setup s = setup(3);
    final Outcome oneRound = run(s, 0, 2, true);
    final Outcome bucketed = run(s, 1, 2, true);
    assertTrue(bucketed.skipped()[2], "step 2 had NaN in a shard");
    assertFalse(bucketed.skipped()[1] || bucketed.skipped()[3]);
    assertSameBits(oneRound, bucketed, "NaN at step 2");
    // Nothing of step 2 applied: its hashes (parameters, BN state, optimizer state) are step 1's.
    assertEquals(bucketed.hashesPerStep().get(1), bucketed.hashesPerStep().get(2));
  }

  @Test
  void towersWithAnEmptyShardShouldJoinEveryBucket() throws Exception {
    // Global batch 2 over 3 towers: tower 2 has no samples and joins without a backward pass.
    final Setup s = new Setup(3, BnTraining.SYNC, 0, 0, 2, 3, ADAM, 1.0, true);
    assertSameBits(run(s, 0, -1, true), run(s, 1, -1, true), "empty shard");
  }

  @Test
  void bucketedStepsOverAeronShouldEqualOneRoundThreadsBitForBit() throws Exception {
    final Setup s = setup(3);
    final Outcome threads = run(s, 0, 2, true);
    try (AeronGroup group = AeronGroup.start(TransportKind.IPC, 3)) {
      final Outcome aeron = TowerHarness.run(s, 3, new Variant(group.members::get, 1, 2, true));
      assertSameBits(threads, aeron, "Aeron IPC, a bucket per layer, NaN at step 2");
    }
  }

  @Test
  void thePlanShouldCutAtLayerBoundariesLastLayerFirstAndCoverTheBuffer() {
    final Model model = TowerHarness.model(true, true);
    final GradientBuckets perLayer =
        new GradientBuckets(model, new InProcessGroup(2).member(0), 1, "test");
    final int n = perLayer.bucketCount();
    long end = model.gradients().length();
    final Set<Long> layerStarts = new HashSet<>();
    for (int i = 0; i <= model.layers().size(); i++) {
      layerStarts.add(model.gradientStart(i));
    }
    final Set<Long> sizes = new HashSet<>();
    for (int b = 0; b < n; b++) {
      final long[] range = perLayer.bucket(b);
      assertEquals(end, range[1], "bucket " + b + " ends where the previous one started");
      assertTrue(layerStarts.contains(range[0]), "bucket " + b + " starts at a layer");
      sizes.add(range[1] - range[0]);
      end = range[0];
    }
    assertEquals(0, end, "the last bucket reaches element 0 (the frozen prefix included)");
    assertTrue(n >= 4, n + " buckets");
    assertTrue(sizes.size() >= 3, "uneven buckets: " + sizes);
    // conv1 to the dropout run no backward (conv1 and bn1 frozen): their gradients go with the
    // last bucket.
    assertEquals(6, model.firstLayerNeedingGradient());
    assertTrue(model.gradientStart(6) > 0);
    assertEquals(0, perLayer.bucket(n - 1)[0]);
  }

  @Test
  void oneBucketOrOneTowerShouldUseTheOneRoundStep() {
    final Model model = TowerHarness.model(false);
    final SoftmaxCrossEntropy loss = new SoftmaxCrossEntropy(1, 5, DataType.DOUBLE);
    final var opt = ADAM.create(model.parameters(), model.trainableRanges());
    final InProcessGroup two = new InProcessGroup(2);
    assertNull(new Tower(model, loss, opt, two.member(0), 0).buckets());
    assertNull(new Tower(model, loss, opt, two.member(0), 1 << 20).buckets());
    assertNull(new Tower(model, loss, opt, new InProcessGroup(1).member(0), 1).buckets());
    assertNotNull(new Tower(model, loss, opt, two.member(0), 1).buckets());
    assertThrows(
        IllegalArgumentException.class, () -> new Tower(model, loss, opt, two.member(0), -1));
  }

  @Test
  void theDefaultShouldBeOffForThreadsAndTheEnvironmentShouldOverrideIt() {
    final InProcessGroup two = new InProcessGroup(2);
    assertEquals(0, AllReduceOverlap.forWorld(two.member(0), Map.of()));
    assertEquals(
        1L << 19, AllReduceOverlap.forWorld(two.member(0), Map.of(AllReduceOverlap.ENV, "0.5")));
    assertEquals(0, AllReduceOverlap.forWorld(two.member(0), Map.of(AllReduceOverlap.ENV, "0")));
    for (final String bad : List.of("-1", "lots", "NaN")) {
      final ConfigException e =
          assertThrows(
              ConfigException.class,
              () -> AllReduceOverlap.forWorld(two.member(0), Map.of(AllReduceOverlap.ENV, bad)));
      assertTrue(
          e.getMessage().contains(AllReduceOverlap.ENV + " = '" + bad + "'"), e.getMessage());
    }
  }
}
