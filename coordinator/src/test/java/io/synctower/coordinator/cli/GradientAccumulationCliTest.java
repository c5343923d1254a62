package io.synctower.coordinator.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code training.accumulateSteps} as a user runs it: 2 towers with 2 micro-batches each give the
 * per-step losses of one tower with ghost BN of the micro-batch size (float64, 1e-10); a run
 * stopped and resumed repeats the straight run's losses bit for bit; values that cannot work are
 * refused before anything starts.
 */
class GradientAccumulationCliTest {
  private static final String CONFIG =
      """
      name: accumulate
      towers: 2
      model:
        dtype: float64
        layers:
          - {type: conv2d, filters: 4, kernel: 3, stride: 2}
          - {type: batchnorm}
          - {type: relu}
          - {type: flatten}
          - {type: dropout, rate: 0.1}
          - {type: dense, units: 32}
      data:
        train: {type: overfit, size: 32}
        validationSplit: 0
      training:
        epochs: 2
        batchSize: 8
        accumulateSteps: 2
        optimizer: {type: sgd, lr: 0.05, momentum: 0.9}
      checkpoint:
        every: {steps: 2}
        keep: 2
      """;

  @TempDir Path dir;

  private Path config(final String name, final String text) throws Exception {
    final Path file = dir.resolve(name);
    Files.writeString(file, text);
    return file;
  }

  private CliRun train(final Path config, final Path run, final String steps) {
    return CliRun.of(
        "train",
        "--config",
        config.toString(),
        "--steps",
        steps,
        "--no-progress",
        "--run-dir",
        run.toString());
  }

  private static double[] losses(final Path run) throws Exception {
    final List<String> rows = Files.readAllLines(run.resolve("steps.csv"));
    assertEquals("step,epoch,batch,loss,lr,skipped", rows.get(0));
    return rows.stream().skip(1).mapToDouble(r -> Double.parseDouble(r.split(",")[3])).toArray();
  }

  @Test
  void twoTowersOfTwoMicroBatchesEqualOneTowerWithGhostBnOfTheMicroBatchSize() throws Exception {
    final Path accumulated = dir.resolve("accumulated");
    assertEquals(0, train(config("a.yaml", CONFIG), accumulated, "6").code());
    final String ghost =
        CONFIG
            .replace("towers: 2", "towers: 1")
            .replace("accumulateSteps: 2", "accumulateSteps: 1")
            .replace("validationSplit: 0", "validationSplit: 0\nbn: {ghostBatch: 2}");
    final Path reference = dir.resolve("ghost");
    final CliRun r = train(config("g.yaml", ghost), reference, "6");
    assertEquals(0, r.code(), r.err());
    final double[] expected = losses(reference);
    final double[] actual = losses(accumulated);
    assertEquals(6, expected.length);
    assertEquals(expected.length, actual.length);
    for (int i = 0; i < expected.length; i++) {
      assertEquals(expected[i], actual[i], 1e-10 * Math.max(1, Math.abs(expected[i])), "step " + i);
    }
    // Without accumulation the same towers normalize whole shards: another run.
    final Path whole = dir.resolve("whole");
    assertEquals(
        0,
        train(
                config("w.yaml", CONFIG.replace("accumulateSteps: 2", "accumulateSteps: 1")),
                whole,
                "6")
            .code());
    assertTrue(Math.abs(losses(whole)[5] - actual[5]) > 1e-8, "accumulation must change the run");
  }

  @Test
  void aResumedRunRepeatsTheStraightRunsLosses() throws Exception {
    final Path cfg = config("c.yaml", CONFIG);
    final Path straight = dir.resolve("straight");
    assertEquals(0, train(cfg, straight, "8").code());
    final Path stopped = dir.resolve("stopped");
    assertEquals(0, train(cfg, stopped, "4").code());
    final CliRun resumed =
        CliRun.of("train", "--resume", stopped.toString(), "--steps", "8", "--no-progress");
    assertEquals(0, resumed.code(), resumed.err());
    assertTrue(resumed.out().contains("resuming from"), resumed.out());
    assertEquals(
        Files.readAllLines(straight.resolve("steps.csv")),
        Files.readAllLines(stopped.resolve("steps.csv")));
  }

  @Test
  void valuesThatCannotWorkAreRefusedNamingTheKey() throws Exception {
    final CliRun zero =
        train(
            config("z.yaml", CONFIG.replace("accumulateSteps: 2", "accumulateSteps: 0")),
            dir.resolve("z"),
            "1");
    assertEquals(2, zero.code(), zero.out());
    assertTrue(zero.err().contains("training.accumulateSteps"), zero.err());
    final CliRun tooMany =
        train(
            config("m.yaml", CONFIG.replace("accumulateSteps: 2", "accumulateSteps: 5")),
            dir.resolve("m"),
            "1");
    assertEquals(2, tooMany.code(), tooMany.out());
    assertTrue(tooMany.err().startsWith("error: "), tooMany.err());
    assertTrue(tooMany.err().contains("at most 4"), tooMany.err());
  }
}
