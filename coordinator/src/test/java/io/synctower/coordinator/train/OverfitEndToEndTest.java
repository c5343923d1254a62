package io.synctower.coordinator.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.config.ConfigLoader;
import io.synctower.common.config.RunConfig;
import io.synctower.common.nn.Model;
import io.synctower.common.protocol.Command;
import io.synctower.worker.assembly.TrainingData;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Seed 001 end to end: the overfit set is memorised (100% in training mode) and evaluating the SAME
 * images in inference mode gives the same accuracy, because the moving statistics are updated
 * inside every step. The control shows the test can fail: with the moving statistics left at their
 * initial values (seed 003's "UPDATE_OPS never ran"), inference accuracy collapses.
 */
class OverfitEndToEndTest {
  /** The first 32 images of the seed-001 set, the whole set per batch as in the report. */
  private static final String CONFIG =
      """
      name: overfit-32
      seed: 7
      model:
        layers:
          - {type: flatten}
          - {type: dense, units: 128}
          - {type: relu}
          - {type: batchnorm}
          - {type: dense, units: 32}
      data:
        train: {type: overfit, size: 32}
        validationSplit: 0
      training:
        epochs: 250
        batchSize: 32
        optimizer: {type: adam, lr: 0.01}
      bn:
        decay: 0.9
      """;

  private static final PrintStream QUIET = new PrintStream(OutputStream.nullOutputStream());

  @TempDir Path runDir;

  private Trainer trainer(final Map<String, String> overrides) throws InterruptedException {
    final RunConfig config = ConfigLoader.parse(CONFIG, "overfit-32", overrides);
    final TrainingData data = TrainingData.load(config, Path.of("."));
    return new Trainer(config, data, new Trainer.Options(runDir, false, QUIET));
  }

  @Test
  void memorisesTheSetAndInferenceAgreesWithTraining() throws Exception {
    try (Trainer trainer = trainer(Map.of())) {
      memorises(trainer);
    }
  }

  private void memorises(final Trainer trainer) throws Exception {
    final Trainer.Summary summary = trainer.run();

    assertEquals(1.0, summary.last().trainAccuracy(), "last step, training mode (batch stats)");
    final EpochMetrics inference = summary.trainInInference();
    assertEquals(1.0, inference.accuracy(), "same images, inference mode (moving statistics)");
    assertEquals(32, inference.samples());

    final List<String> csv = Files.readAllLines(runDir.resolve("metrics.csv"));
    assertEquals(EpochRecord.CSV_HEADER, csv.get(0));
    assertEquals(1 + 250, csv.size(), "one row per epoch");
    assertTrue(Files.readString(runDir.resolve("config.yaml")).contains("decay: 0.9"));

    // Control: the moving statistics a framework that never ran the update would have.
    resetMovingStatistics(summary.model());
    final EpochMetrics stale = trainer.evaluate(Command.DatasetRole.TRAIN);
    assertTrue(
        stale.accuracy() < 0.5,
        "with moving statistics at their initial values inference must fail, got "
            + stale.accuracy());
  }

  @Test
  void movingStatisticsChangeInTheFirstStep() throws Exception {
    final Model model;
    try (Trainer trainer = trainer(Map.of("training.steps", "1"))) {
      model = trainer.model();
      trainer.run();
    }
    final double[] mean = model.tensor("bn1.running_mean").toDoubleVector();
    final double[] var = model.tensor("bn1.running_var").toDoubleVector();
    assertEquals(128, mean.length);
    // BN follows a ReLU, so a channel's batch mean is > 0 unless the ReLU output is zero for the
    // whole batch (a dead unit: all overfit images are multiples of one pattern, so about half
    // are). Live channel: moving mean = (1 - decay) * batch mean > 0. Dead channel: batch mean and
    // variance are 0, so moving mean stays 0 and moving variance = decay * 1 = 0.9.
    int live = 0;
    for (int c = 0; c < mean.length; c++) {
      if (mean[c] > 0) {
        live++;
        assertTrue(var[c] != 1.0, "channel " + c + ": moving variance never updated");
      } else {
        assertEquals(0.0, mean[c], "channel " + c);
        assertEquals(0.9, var[c], 1e-6, "dead channel " + c + ": decay * 1 + (1 - decay) * 0");
      }
    }
    assertTrue(live > 32, live + " of 128 channels live");
  }

  private static void resetMovingStatistics(final Model model) {
    model.tensor("bn1.running_mean").assign(0.0);
    model.tensor("bn1.running_var").assign(1.0);
  }
}
