package io.synctower.coordinator.seeds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.config.ConfigLoader;
import io.synctower.common.config.RunConfig;
import io.synctower.common.optim.OptimizerSpec;
import io.synctower.coordinator.train.Trainer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Seed 000 ({@code configs/seeds/000-captcha-adadelta.yaml}): the captcha model that "BN broke" on
 * TF 2.3 was relying on Adadelta's default learning rate, 1.0 in Keras 2 and 0.001 in TF 2. The
 * config's model is trained unchanged, on a few samples and steps: with the Keras 2 rate it learns,
 * with TF 2's it barely moves, and every setting the run relies on is named in its log. SyncBN on 2
 * towers computes the same steps as 1 tower, so the tower count is not a suspect either.
 */
class Seed000CaptchaAdadeltaTest {
  private static final String CONFIG = "000-captcha-adadelta.yaml";
  private static final int STEPS = 6;

  @TempDir Path dir;

  /** The config's model on 8 samples, the same 8 in every step, for {@link #STEPS} steps. */
  private static Map<String, String> memoriseEight(final String optimizer) {
    return Map.of(
        "data.train.size", "8",
        "data.validationSplit", "0",
        "training.batchSize", "8",
        "training.epochs", Integer.toString(STEPS),
        "training.optimizer", optimizer);
  }

  @Test
  void learnsWithTheKeras2LearningRateAndBarelyMovesWithTf2s() throws Exception {
    final SeedRun keras2 = SeedRun.of(CONFIG, memoriseEight(explicitAdadelta()), dir.resolve("k"));
    final SeedRun tf2 =
        SeedRun.of(CONFIG, memoriseEight("{type: adadelta, lr: 0.001}"), dir.resolve("tf2"));
    final List<Trainer.StepLoss> learning = keras2.train().stepLosses();
    final List<Trainer.StepLoss> stuck = tf2.train().stepLosses();

    assertEquals(STEPS, learning.size());
    assertEquals(STEPS, stuck.size());
    // Step 0's loss is computed before any update: same model, same data, same dropout masks.
    final double initial = learning.get(0).loss();
    assertEquals(initial, stuck.get(0).loss(), 0.0, "both runs must start from the same point");
    final double learned = learning.get(STEPS - 1).loss();
    final double barely = stuck.get(STEPS - 1).loss();
    // Measured: 8.9 -> about 2 with lr 1.0; within +-10% of 8.9 (dropout noise) with lr 0.001.
    assertTrue(learned < 0.5 * initial, "lr 1.0 must learn: " + initial + " -> " + learned);
    assertTrue(
        Math.abs(barely - initial) < 0.2 * initial,
        "lr 0.001 must barely move: " + initial + " -> " + barely);
    assertTrue(initial - learned > 3 * Math.abs(initial - barely), learned + " vs " + barely);

    // The log names every setting, and which ones came from a default.
    assertTrue(
        keras2
            .log()
            .contains(
                "optimizer ADADELTA{lr=1.0, rho=0.95, epsilon=1.0E-7, weightDecay=0.0 (default)}"),
        keras2.log());
    assertTrue(
        tf2.log()
            .contains(
                "optimizer ADADELTA{lr=0.001, rho=0.95 (default), epsilon=1.0E-7 (default),"
                    + " weightDecay=0.0 (default)}"),
        tf2.log());
    final String resolved = Files.readString(keras2.runDir().resolve("config.yaml"));
    assertTrue(
        resolved.matches(
            "(?s).*optimizer:\\s+type: adadelta\\s+lr: 1\\.0\\s+epsilon: 1\\.0E-7\\s+rho: 0\\.95"
                + "\\s+defaulted:\\s+- weightDecay\\s.*"),
        resolved);
  }

  /** The optimizer exactly as the seed config writes it (the test must not drift from the file). */
  private static String explicitAdadelta() {
    final OptimizerSpec spec = SeedRun.of(CONFIG, Map.of(), null).config().training().optimizer();
    assertEquals(OptimizerSpec.Type.ADADELTA, spec.type());
    assertEquals(
        List.of("weightDecay"), List.copyOf(spec.defaulted()), "the config states the rest");
    return "{type: adadelta, lr: "
        + spec.lr()
        + ", rho: "
        + spec.rho()
        + ", epsilon: "
        + spec.epsilon()
        + "}";
  }

  @Test
  void theReportsBareAdadeltaGetsKeras2sLearningRateAndTheLogSaysItIsADefault() {
    // model.compile(optimizer='adadelta'): nothing stated, every value a default.
    final RunConfig bare =
        SeedRun.of(CONFIG, Map.of("training.optimizer", "{type: adadelta}"), null).config();
    final OptimizerSpec spec = bare.training().optimizer();
    assertEquals(1.0, spec.lr(), "Keras 2 / TF 1.x tf.keras Adadelta default (TF 2.x: 0.001)");
    assertEquals(0.95, spec.rho());
    assertEquals(1e-7, spec.epsilon());
    assertEquals(
        "ADADELTA{lr=1.0 (default), rho=0.95 (default), epsilon=1.0E-7 (default),"
            + " weightDecay=0.0 (default)}",
        spec.toString());
    assertTrue(ConfigLoader.toYaml(bare).contains("- lr"), "config.yaml lists lr as defaulted");
  }

  @Test
  void twoTowersWithSyncBnComputeTheStepsOfOneTowerInFloat64() throws Exception {
    final Trainer.Summary one = float64Steps(1);
    final Trainer.Summary two = float64Steps(2);
    assertEquals(one.stepLosses().size(), two.stepLosses().size());
    for (int s = 0; s < one.stepLosses().size(); s++) {
      final double a = one.stepLosses().get(s).loss();
      assertEquals(a, two.stepLosses().get(s).loss(), 1e-10 * Math.abs(a), "step " + s);
    }
    SameModel.assertClose(one.model(), two.model(), 1e-10);
  }

  /** Two steps of the config's model on 2 images (one per tower on 2 towers). */
  private Trainer.Summary float64Steps(final int towers) throws Exception {
    return SeedRun.of(
            CONFIG,
            Map.of(
                "model.dtype", "float64",
                "towers", Integer.toString(towers),
                "bn.sync", "true",
                "data.train.size", "2",
                "data.validationSplit", "0",
                "training.batchSize", "2",
                "training.steps", "2"),
            dir.resolve("towers" + towers))
        .train();
  }
}
