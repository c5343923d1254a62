package io.synctower.coordinator.seeds;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.data.BatchAssembler;
import io.synctower.common.data.EpochPermutation;
import io.synctower.common.data.Shards;
import io.synctower.common.nn.Model;
import io.synctower.common.nn.StepContext;
import io.synctower.coordinator.train.Trainer;
import io.synctower.worker.assembly.Replicas;
import io.synctower.worker.assembly.TrainingData;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Seed 003 ({@code configs/seeds/003-four-towers-batch-2.yaml}): 4 towers of 2 samples. With SyncBN
 * they compute exactly what 1 tower computes on the batch of 8; the moving statistics move in the
 * very first step, identically on every tower (the report's were never updated); and with local BN
 * they are still updated from the union of all 8 samples, which this test recomputes itself.
 */
class Seed003FourTowersTest {
  private static final String CONFIG = "003-four-towers-batch-2.yaml";

  @TempDir Path dir;

  /** The seed config in float64 on {@code images} training images, no validation. */
  private static Map<String, String> float64(final int images, final long steps) {
    final Map<String, String> o = new HashMap<>();
    o.put("model.dtype", "float64");
    o.put("data.train.size", Integer.toString(images));
    o.put("data.validationSplit", "0");
    o.put("training.steps", Long.toString(steps));
    o.put("training.replicaCheckEvery", "1");
    return o;
  }

  private Trainer.Summary train(final int towers, final boolean sync) throws Exception {
    final Map<String, String> o = float64(24, 3);
    o.put("towers", Integer.toString(towers));
    o.put("bn.sync", Boolean.toString(sync));
    return SeedRun.of(CONFIG, o, dir.resolve(towers + "-" + sync)).train();
  }

  @Test
  void fourTowersOfTwoWithSyncBnComputeWhatOneTowerOfEightComputes() throws Exception {
    final SeedRun seed = SeedRun.of(CONFIG, Map.of(), null);
    assertEquals(4, seed.config().towers());
    assertEquals(8, seed.config().training().batchSize());
    assertTrue(seed.config().bn().sync());

    final Trainer.Summary one = train(1, true);
    final Trainer.Summary four = train(4, true);
    assertEquals(3, four.stepLosses().size());
    for (int s = 0; s < 3; s++) {
      final double a = one.stepLosses().get(s).loss();
      assertEquals(a, four.stepLosses().get(s).loss(), 1e-10 * Math.abs(a), "step " + s);
    }
    SameModel.assertClose(one.model(), four.model(), 1e-10);

    // Control: local BN normalizes each tower's 2 samples on their own and must not match.
    final double local = train(4, false).stepLosses().get(0).loss();
    final double reference = one.stepLosses().get(0).loss();
    assertTrue(Math.abs(local - reference) > 1e-6, "local BN matched SyncBN: " + local);
  }

  @Test
  void movingStatisticsMoveInTheFirstStepIdenticallyOnEveryTower() throws Exception {
    final SeedRun run = SeedRun.of(CONFIG, float64(8, 1), dir);
    try (Trainer trainer = run.trainer()) {
      trainer.run();
      final Model first = trainer.model(0);
      for (final String bn : List.of("bn1", "bn2")) {
        final double[] mean = first.tensor(bn + ".running_mean").toDoubleVector();
        final double[] var = first.tensor(bn + ".running_var").toDoubleVector();
        for (int c = 0; c < mean.length; c++) {
          assertNotEquals(0.0, mean[c], bn + " channel " + c + ": moving mean never updated");
          assertNotEquals(1.0, var[c], bn + " channel " + c + ": moving variance never updated");
        }
      }
      final double[] state = first.state().toDoubleVector();
      for (int rank = 1; rank < 4; rank++) {
        assertArrayEquals(
            state, trainer.model(rank).state().toDoubleVector(), 0.0, "tower " + rank);
      }
    }
  }

  @Test
  void withLocalBnTheMovingStatisticsComeFromTheUnionOfAllTowers() throws Exception {
    final Map<String, String> o = float64(8, 1);
    o.put("bn.sync", "false");
    final SeedRun run = SeedRun.of(CONFIG, o, dir);
    final double decay = run.config().bn().decay();
    final int towers = run.config().towers();

    // bn1's input in the first step: conv1 of the initial weights on all 8 images (the whole set
    // is the first global batch), [8, H, W, C]. conv1 does not depend on the BN mode.
    final TrainingData data = TrainingData.load(run.config(), SeedRun.seedsDirectory());
    final Model initial = Replicas.newModel(run.config(), data);
    final BatchAssembler assembler = new BatchAssembler(data.train(), data.normalization());
    final INDArray x = assembler.allocate(initial.dataType(), 8);
    final int[] order = EpochPermutation.of(run.config().seed(), 1, 8);
    assembler.fill(order, 0, 8, x, new int[8 * data.train().labelPositions()]);
    initial.forward(x, StepContext.inference());
    final INDArray conv1 = initial.lastOutputs().get(0);
    final int channels = (int) conv1.size(3);
    final double[][] union = rows(conv1, 0, 8);

    final Model trained;
    try (Trainer trainer = run.trainer()) {
      trainer.run();
      trained = trainer.model(0);
    }
    final double[] mean = trained.tensor("bn1.running_mean").toDoubleVector();
    final double[] var = trained.tensor("bn1.running_var").toDoubleVector();
    final double[] unionMean = OverfitMlp.mean(union);
    final double[] unionVar = OverfitMlp.variance(union, 1);
    final double[] perTowerVar = new double[channels];
    for (int rank = 0; rank < towers; rank++) {
      final int from = Shards.offset(8, towers, rank);
      final double[] v = OverfitMlp.variance(rows(conv1, from, Shards.size(8, towers, rank)), 1);
      for (int c = 0; c < channels; c++) {
        perTowerVar[c] += v[c] / towers;
      }
    }
    int detected = 0;
    for (int c = 0; c < channels; c++) {
      // moving = decay * initial + (1 - decay) * union statistic; initial mean 0, variance 1.
      final double expectedMean = (1 - decay) * unionMean[c];
      final double expectedVar = decay + (1 - decay) * unionVar[c];
      final double tolerance = 1e-10 * expectedVar;
      assertEquals(expectedMean, mean[c], 1e-10 * Math.max(1e-3, Math.abs(expectedMean)), "c" + c);
      assertEquals(expectedVar, var[c], tolerance, "channel " + c);
      // Control: averaging the towers' own variances misses the spread between their means; this
      // test would catch that (small: the 8 captchas' conv1 outputs have similar means).
      final double averaged = decay + (1 - decay) * perTowerVar[c];
      if (Math.abs(averaged - expectedVar) > 100 * tolerance) {
        detected++;
      }
    }
    assertTrue(detected > channels / 2, "averaging detected in " + detected + " of " + channels);
  }

  /** Samples {@code from .. from+count} of an [n, H, W, C] activation as rows of C values. */
  private static double[][] rows(final INDArray activation, final int from, final int count) {
    final int channels = (int) activation.size(3);
    final double[] all = SameModel.values(activation);
    final int perSample = (int) (all.length / activation.size(0));
    final int rowsPerSample = perSample / channels;
    final double[][] rows = new double[count * rowsPerSample][channels];
    for (int r = 0; r < rows.length; r++) {
      System.arraycopy(all, from * perSample + r * channels, rows[r], 0, channels);
    }
    return rows;
  }
}
