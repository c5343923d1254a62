package io.synctower.coordinator.seeds;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.checkpoint.CheckpointStore;
import io.synctower.common.checkpoint.WeightLayout;
import io.synctower.common.checkpoint.WeightsFile;
import io.synctower.common.data.NpyArray;
import io.synctower.common.protocol.Command;
import io.synctower.coordinator.train.EpochMetrics;
import io.synctower.coordinator.train.Trainer;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Seed 001 ({@code configs/seeds/001-overfit-256.yaml}): after training to convergence on a subset
 * of the overfit set (the whole subset in every batch, as in the report), the same images give the
 * same predictions in training mode and in inference mode, and the moving statistics are the
 * population statistics of the last batches, both recomputed here by {@link OverfitMlp} in plain
 * Java from the exported weights. float64, so the statistics are compared to 1e-9.
 */
class Seed001OverfitTest {
  private static final String CONFIG = "001-overfit-256.yaml";
  private static final int IMAGES = 32;
  private static final int STEPS = 200;

  @TempDir Path dir;

  /** The seed's model and settings on the first 32 images: 32 output units for 32 classes. */
  private SeedRun subset(final long steps) throws java.io.IOException {
    return SeedRun.edited(
        CONFIG, "{type: dense, units: 256}", "{type: dense, units: 32}", overrides(steps), dir);
  }

  private static Map<String, String> overrides(final long steps) {
    final Map<String, String> o = new HashMap<>();
    o.put("model.dtype", "float64");
    o.put("data.train.size", Integer.toString(IMAGES));
    o.put("training.batchSize", Integer.toString(IMAGES));
    // Converged: a cosine schedule brings the learning rate to 0 at the end of the run, so the
    // last steps barely move the weights (at a constant rate the weights, and with them the
    // predictions of images 1/255 apart, keep moving for thousands of steps).
    o.put("training.optimizer.lr", "0.01");
    o.put("training.schedule", "{type: cosine}");
    o.put("training.epochs", Integer.toString(STEPS));
    o.put("training.steps", Long.toString(steps));
    return o;
  }

  @Test
  void afterConvergenceTrainingAndInferenceAgreeAndMovingStatisticsArePopulationStatistics()
      throws Exception {
    // All steps but the last, then the last one resumed from the checkpoint: the test sees the
    // weights and moving statistics the last step started from.
    final SeedRun before = subset(STEPS - 1);
    final Map<String, NpyArray> weightsBefore;
    try (Trainer trainer = before.trainer()) {
      trainer.run();
      weightsBefore = WeightsFile.toArrays(trainer.model(), WeightLayout.PYTORCH);
    }
    final SeedRun last = subset(STEPS);
    final double decay = last.config().bn().decay();
    final double epsilon = last.config().bn().epsilon();
    final Trainer.Summary summary;
    final Map<String, NpyArray> weightsAfter;
    final EpochMetrics stale;
    try (Trainer trainer = last.trainer()) {
      trainer.resumeFrom(new CheckpointStore(dir.resolve("checkpoints")).loadLatest(false));
      summary = trainer.run();
      weightsAfter = WeightsFile.toArrays(trainer.model(), WeightLayout.PYTORCH);
      // Control: a framework whose update ops never ran (seed 003) keeps the initial statistics.
      trainer.model().tensor("bn1.running_mean").assign(0.0);
      trainer.model().tensor("bn1.running_var").assign(1.0);
      stale = trainer.evaluate(Command.DatasetRole.TRAIN);
    }
    assertEquals(STEPS, summary.steps());

    // The update of the last step, recomputed: its batch (every image) under the weights it
    // started from, mean and unbiased variance, folded in with the config's decay.
    final double[][] lastBatch = new OverfitMlp(weightsBefore, epsilon).bnInput(IMAGES);
    final double[] batchMean = OverfitMlp.mean(lastBatch);
    final double[] batchVar = OverfitMlp.variance(lastBatch, 1);
    final double[] movingMeanBefore = weightsBefore.get("bn1.running_mean").toDoubleArray();
    final double[] movingVarBefore = weightsBefore.get("bn1.running_var").toDoubleArray();
    final double[] movingMean = weightsAfter.get("bn1.running_mean").toDoubleArray();
    final double[] movingVar = weightsAfter.get("bn1.running_var").toDoubleArray();
    for (int f = 0; f < movingMean.length; f++) {
      final double mean = decay * movingMeanBefore[f] + (1 - decay) * batchMean[f];
      final double var = decay * movingVarBefore[f] + (1 - decay) * batchVar[f];
      assertEquals(mean, movingMean[f], 1e-9 * Math.max(1, Math.abs(mean)), "mean " + f);
      assertEquals(var, movingVar[f], 1e-9 * Math.max(1, var), "variance " + f);
    }

    // Converged: the moving statistics are the population statistics under the final weights
    // (measured: within 0.2%; the moving averages still trail the last, tiny, updates).
    final OverfitMlp trained = new OverfitMlp(weightsAfter, epsilon);
    final double[][] population = trained.bnInput(IMAGES);
    final double[] popMean = OverfitMlp.mean(population);
    final double[] popVar = OverfitMlp.variance(population, 1);
    for (int f = 0; f < popMean.length; f++) {
      assertEquals(popMean[f], movingMean[f], 1e-2 * Math.max(1, Math.abs(popMean[f])), "f " + f);
      assertEquals(popVar[f], movingVar[f], 1e-2 * Math.max(1, popVar[f]), "f " + f);
    }

    // Training mode (the batch's own biased statistics) and inference mode (the moving
    // statistics) predict the same class for every image: its label.
    final int[] labels = new int[IMAGES];
    java.util.Arrays.setAll(labels, i -> i);
    final int[] inference = trained.predictions(population, movingMean, movingVar);
    final int[] training =
        trained.predictions(population, popMean, OverfitMlp.variance(population, 0));
    assertArrayEquals(labels, training, "training mode");
    assertArrayEquals(labels, inference, "inference mode");
    // ... and the trainer reports the same: 100% in training and in inference mode.
    assertEquals(1.0, summary.last().trainAccuracy());
    assertEquals(1.0, summary.trainInInference().accuracy());
    assertTrue(last.log().contains("acc 100.00% (last epoch in training mode: acc 100.00%)"));
    assertTrue(stale.accuracy() < 0.5, "stale statistics must fail, got " + stale.accuracy());
  }
}
