package io.synctower.coordinator.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Early stopping and reduce-LR-on-plateau as a user runs them: the run stops after the expected
 * epoch and says why and where the best epoch's checkpoint is (kept apart from {@code
 * checkpoint.keep}, exportable); the plateau's reductions show in metrics.csv's lr column; a run
 * interrupted after an epoch and resumed has the metrics.csv and step log of the uninterrupted run;
 * a validation metric without a validation set is a config error.
 *
 * <p>{@code minDelta: 1000} makes every epoch after the first "no improvement" whatever the losses
 * are, so the expected epochs are known by hand: the tests check the rules' wiring, {@code
 * EpochRulesTest} their arithmetic.
 */
class EpochRulesCliTest {
  /** 16 overfit samples, 12 after the split: 3 steps per epoch. */
  private static final String BASE =
      """
      name: rules
      towers: 2
      model:
        layers:
          - {type: conv2d, filters: 4, kernel: 3, stride: 2}
          - {type: batchnorm}
          - {type: relu}
          - {type: flatten}
          - {type: dropout, rate: 0.1}
          - {type: dense, units: 16}
      data:
        train: {type: overfit, size: 16}
        validationSplit: 0.25
      checkpoint:
        every: {steps: 1}
        keep: 1
      training:
        batchSize: 4
        optimizer: {type: sgd, lr: 0.1, momentum: 0.9}
      """;

  @TempDir Path dir;

  private CliRun train(final String training, final Path run, final String... more)
      throws Exception {
    final Path config = dir.resolve("c.yaml");
    Files.writeString(config, BASE + training);
    return CliRun.train(config, run, more);
  }

  /** metrics.csv's rows without the timing columns (samples_per_s, seconds). */
  private static List<String> metrics(final Path run) throws Exception {
    return Files.readAllLines(run.resolve("metrics.csv")).stream()
        .map(l -> String.join(",", Arrays.copyOf(l.split(",", -1), 9)))
        .toList();
  }

  /** One column of metrics.csv's rows. */
  private static List<String> column(final Path run, final int index) throws Exception {
    return Files.readAllLines(run.resolve("metrics.csv")).stream()
        .skip(1)
        .map(l -> l.split(",", -1)[index])
        .toList();
  }

  @Test
  void earlyStoppingStopsAfterPatienceAndKeepsTheBestCheckpoint() throws Exception {
    final Path run = dir.resolve("run");
    final CliRun r =
        train(
            "  epochs: 10\n  earlyStopping: {monitor: val_loss, patience: 2, minDelta: 1000}\n",
            run);
    assertEquals(0, r.code(), r.all());
    // Epoch 1 is the best; epochs 2 and 3 do not improve by more than 1000: stop after epoch 3.
    assertEquals(List.of("1", "2", "3"), column(run, 0), r.out());
    assertTrue(r.out().contains("stopped after epoch 3"), r.out());
    assertTrue(r.out().contains("at epoch 1 (step 3)"), r.out());
    final Path best = run.resolve("best");
    assertTrue(r.out().contains(best.toAbsolutePath().toString()), r.out());
    // checkpoint.keep: 1 pruned every other checkpoint; the best epoch's stays in its own store.
    assertEquals("step-00000003", Files.readString(best.resolve("latest")).trim());
    final List<String> kept =
        Files.list(run.resolve("checkpoints"))
            .map(p -> p.getFileName().toString())
            .filter(n -> n.startsWith("step-"))
            .toList();
    assertEquals(1, kept.size(), kept.toString());
    assertTrue(kept.get(0).startsWith("step-00000009"), kept.toString());

    final Path npz = dir.resolve("best.npz");
    final CliRun export =
        CliRun.of("export", "--checkpoint", best.toString(), "--out", npz.toString());
    assertEquals(0, export.code(), export.all());
    assertTrue(export.out().contains("weights of step 3"), export.out());

    // Resuming a run that early stopping ended trains nothing more and says so again.
    final CliRun again = CliRun.of("train", "--resume", run.toString(), "--no-progress");
    assertEquals(0, again.code(), again.all());
    assertTrue(again.out().contains("stopped after epoch 3"), again.out());
    assertEquals(List.of("1", "2", "3"), column(run, 0));
  }

  @Test
  void overwriteDeletesTheBestCheckpointWithTheRest() throws Exception {
    final Path run = dir.resolve("run");
    final String rules =
        "  epochs: 2\n  earlyStopping: {monitor: val_loss, patience: 2}\n"
            + "logging: {tensorboard: false}\n";
    assertEquals(0, train(rules, run).code());
    assertTrue(Files.isDirectory(run.resolve("best")));
    final CliRun again = train(rules, run, "--overwrite");
    assertEquals(0, again.code(), again.all());
  }

  @Test
  void thePlateauLowersTheLearningRateInMetricsCsv() throws Exception {
    final Path run = dir.resolve("run");
    final CliRun r =
        train(
            "  epochs: 5\n"
                + "  reduceLrOnPlateau: {monitor: train_loss, patience: 1, factor: 0.5,"
                + " minDelta: 1000, minLr: 0.03}\n",
            run);
    assertEquals(0, r.code(), r.all());
    // Reduced after epochs 2 (x0.5) and 3 (x0.25, floored at minLr 0.03); at minLr no more.
    assertEquals(
        List.of("0.100000", "0.100000", "0.0500000", "0.0300000", "0.0300000"),
        column(run, 8),
        r.out());
    assertTrue(r.out().contains("reduce-LR-on-plateau: train_loss"), r.out());
    // The step log shows the new rate from the first step after the epoch that reduced it.
    final List<String> steps = Files.readAllLines(run.resolve("steps.csv"));
    assertTrue(steps.get(6).contains(",0.1,") && steps.get(7).contains(",0.05,"), steps.toString());
  }

  @Test
  void aRunInterruptedAfterAnEpochResumesToTheUninterruptedMetrics() throws Exception {
    final String rules =
        "  epochs: 8\n"
            + "  steps: 24\n"
            + "  earlyStopping: {monitor: train_loss, patience: 4, minDelta: 1000}\n"
            + "  reduceLrOnPlateau: {monitor: val_loss, patience: 1, factor: 0.5,"
            + " minDelta: 1000, cooldown: 2}\n";
    final Path straight = dir.resolve("straight");
    final CliRun a = train(rules, straight);
    assertEquals(0, a.code(), a.all());
    assertTrue(a.out().contains("stopped after epoch 5"), a.out());

    // Interrupted one step into epoch 3: the checkpoint holds epochs 1 and 2 (a reduction after
    // epoch 2 and its cooldown, early stopping one epoch into its patience); the resume replays
    // them. Reductions after epochs 2 and 4 (epoch 3 is the cooldown); stop after epoch 5.
    final Path stopped = dir.resolve("stopped");
    final CliRun b = train(rules, stopped, "--steps", "7");
    assertEquals(0, b.code(), b.all());
    final CliRun c =
        CliRun.of("train", "--resume", stopped.toString(), "--steps", "24", "--no-progress");
    assertEquals(0, c.code(), c.all());
    assertTrue(c.out().contains("resuming from"), c.out());
    assertTrue(c.out().contains("stopped after epoch 5"), c.out());

    assertEquals(metrics(straight), metrics(stopped), "metrics.csv without the timings");
    assertEquals(
        List.of("0.100000", "0.100000", "0.0500000", "0.0500000", "0.0250000"), column(stopped, 8));
    assertEquals(
        Files.readAllLines(straight.resolve("steps.csv")),
        Files.readAllLines(stopped.resolve("steps.csv")),
        "per-step losses and learning rates");
    assertEquals(
        Files.readString(straight.resolve("best/latest")),
        Files.readString(stopped.resolve("best/latest")));
  }

  @Test
  void aValidationMetricWithoutAValidationSetIsAConfigError() throws Exception {
    final Path config = dir.resolve("c.yaml");
    Files.writeString(
        config,
        BASE.replace("validationSplit: 0.25", "validationSplit: 0")
            + "  reduceLrOnPlateau: {monitor: val_acc, patience: 2}\n");
    final CliRun r =
        CliRun.of(
            "train",
            "--config",
            config.toString(),
            "--no-progress",
            "--run-dir",
            dir.resolve("run").toString());
    assertEquals(2, r.code(), r.all());
    assertTrue(r.err().contains("training.reduceLrOnPlateau.monitor: val_acc"), r.err());
    assertTrue(r.err().contains("monitor train_acc"), r.err());
  }
}
