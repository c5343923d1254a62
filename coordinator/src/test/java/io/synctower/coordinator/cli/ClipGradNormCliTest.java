package io.synctower.coordinator.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code training.clipGradNorm} through {@code train} (float64, SyncBN): it changes the run (the
 * norm is small enough to clip every step), one tower on the whole batch and two towers clip alike
 * (the norm is the all-reduced gradient's), and a run stopped and resumed repeats the straight
 * run's losses bit for bit (clipping keeps no state).
 */
class ClipGradNormCliTest {
  private static final String CONFIG =
      """
      name: clip
      model:
        dtype: float64
        layers:
          - {type: conv2d, filters: 4, kernel: 3, stride: 2}
          - {type: batchnorm}
          - {type: relu}
          - {type: flatten}
          - {type: dense, units: 32}
      data:
        train: {type: overfit, size: 32}
        validationSplit: 0
      bn: {sync: true}
      training:
        epochs: 2
        batchSize: 8
        clipGradNorm: 0.05
        optimizer: {type: sgd, lr: 0.5}
      checkpoint:
        every: {steps: 2}
      """;

  @TempDir Path dir;

  private CliRun train(final String text, final Path run, final String... more) throws Exception {
    final Path config = dir.resolve(run.getFileName() + ".yaml");
    Files.writeString(config, text);
    return CliRun.train(config, run, more);
  }

  private static double[] losses(final Path run) throws Exception {
    return Files.readAllLines(run.resolve("steps.csv")).stream()
        .skip(1)
        .mapToDouble(r -> Double.parseDouble(r.split(",")[3]))
        .toArray();
  }

  @Test
  void clippingChangesTheRunAndTwoTowersClipAsOne() throws Exception {
    final Path one = dir.resolve("one");
    assertEquals(0, train(CONFIG, one, "--steps", "6").code());
    final Path unclipped = dir.resolve("unclipped");
    assertEquals(
        0,
        train(CONFIG.replace("clipGradNorm: 0.05", "clipGradNorm: 0"), unclipped, "--steps", "6")
            .code());
    final double[] clippedLosses = losses(one);
    final double[] freeLosses = losses(unclipped);
    assertEquals(clippedLosses[0], freeLosses[0], 0, "the first loss is before any update");
    assertNotEquals(clippedLosses[5], freeLosses[5], "clipping must change the run to mean much");

    final Path two = dir.resolve("two");
    assertEquals(0, train(CONFIG, two, "--steps", "6", "--towers", "2").code());
    final double[] twoLosses = losses(two);
    for (int i = 0; i < clippedLosses.length; i++) {
      assertEquals(
          clippedLosses[i],
          twoLosses[i],
          1e-10 * Math.max(1, Math.abs(clippedLosses[i])),
          "step " + i + ": 2 towers against 1");
    }
  }

  @Test
  void aResumedClippedRunRepeatsTheStraightRunsLosses() throws Exception {
    final Path straight = dir.resolve("straight");
    assertEquals(0, train(CONFIG, straight, "--steps", "6").code());
    final Path stopped = dir.resolve("stopped");
    assertEquals(0, train(CONFIG, stopped, "--steps", "4").code());
    final CliRun resumed =
        CliRun.of("train", "--resume", stopped.toString(), "--steps", "6", "--no-progress");
    assertEquals(0, resumed.code(), resumed.err());
    assertTrue(resumed.out().contains("resuming from"), resumed.out());
    assertEquals(
        Files.readAllLines(straight.resolve("steps.csv")),
        Files.readAllLines(stopped.resolve("steps.csv")));
  }
}
