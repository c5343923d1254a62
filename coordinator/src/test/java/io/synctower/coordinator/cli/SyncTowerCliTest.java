package io.synctower.coordinator.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.checkpoint.WeightLayout;
import io.synctower.common.checkpoint.WeightsFile;
import io.synctower.common.config.ConfigLoader;
import io.synctower.common.config.RunConfig;
import io.synctower.common.nn.Model;
import io.synctower.coordinator.train.Trainer;
import io.synctower.coordinator.train.TrainingData;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The train command end to end: exit codes, error messages, weight export and import. */
class SyncTowerCliTest {
  private static final String CONFIG =
      """
      name: cli
      model:
        layers:
          - {type: conv2d, filters: 4, kernel: 3, stride: 2}
          - {type: batchnorm}
          - {type: relu}
          - {type: flatten}
          - {type: dense, units: 16}
      data:
        train: {type: overfit, size: 16}
        validationSplit: 0.25
      training:
        batchSize: 4
      """;

  @TempDir Path dir;

  private Path config(final String text) throws Exception {
    final Path file = dir.resolve("c.yaml");
    Files.writeString(file, text);
    return file;
  }

  /** Runs the CLI, returning its exit code; stdout is discarded, stderr goes to {@code err}. */
  private static int run(final ByteArrayOutputStream err, final String... args) {
    final PrintStream oldOut = System.out;
    final PrintStream oldErr = System.err;
    System.setOut(new PrintStream(OutputStream.nullOutputStream()));
    System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    try {
      return SyncTowerCli.execute(args);
    } finally {
      System.setOut(oldOut);
      System.setErr(oldErr);
    }
  }

  @Test
  void exportedWeightsImportStrictlyAndReExportBitForBit() throws Exception {
    final Path cfg = config(CONFIG);
    final Path exported = dir.resolve("w.npz");
    final ByteArrayOutputStream err = new ByteArrayOutputStream();
    final int code =
        run(
            err,
            "train",
            "--config",
            cfg.toString(),
            "--steps",
            "3",
            "--no-progress",
            "--run-dir",
            dir.resolve("run").toString(),
            "--export-weights",
            exported.toString());
    assertEquals(0, code, err.toString(StandardCharsets.UTF_8));
    assertTrue(Files.exists(dir.resolve("run/metrics.csv")));

    // A fresh model (other seed) loads the file strictly and writes the identical file back.
    final RunConfig config = ConfigLoader.load(cfg, Map.of("seed", "99"));
    final Model fresh = Trainer.newModel(config, TrainingData.load(config, dir));
    WeightsFile.load(fresh, exported, WeightLayout.PYTORCH);
    final Path again = dir.resolve("again.npz");
    WeightsFile.save(fresh, again, WeightLayout.PYTORCH);
    assertArrayEquals(Files.readAllBytes(exported), Files.readAllBytes(again));
  }

  @Test
  void weightsInTheWrongLayoutAreBadInputListingTheKeys() throws Exception {
    final Path cfg = config(CONFIG);
    final Path exported = dir.resolve("w.npz");
    final String[] train = {
      "train", "--config", cfg.toString(), "--steps", "1", "--no-progress", "--run-dir"
    };
    assertEquals(
        0,
        run(
            new ByteArrayOutputStream(),
            concat(train, dir.resolve("a").toString(), "--export-weights", exported.toString())));
    final ByteArrayOutputStream err = new ByteArrayOutputStream();
    final int code =
        run(
            err,
            concat(
                train,
                dir.resolve("b").toString(),
                "--init-weights",
                exported.toString(),
                "--weights-layout",
                "keras"));
    final String message = err.toString(StandardCharsets.UTF_8);
    assertEquals(2, code, message);
    assertTrue(message.contains("conv1.kernel"), message);
    assertTrue(message.contains("conv1.weight"), message);
  }

  @Test
  void badConfigIsExitCodeTwoWithEveryProblem() throws Exception {
    final Path cfg =
        config(
            CONFIG
                .replace("batchSize: 4", "batchSize: 4\n  lr: 0.1")
                .replace("size: 16", "size: 999"));
    final ByteArrayOutputStream err = new ByteArrayOutputStream();
    final int code = run(err, "train", "--config", cfg.toString(), "--no-progress");
    final String message = err.toString(StandardCharsets.UTF_8);
    assertEquals(2, code, message);
    assertTrue(message.contains("training.lr"), message);
    assertTrue(message.contains("999"), message);
  }

  private static String[] concat(final String[] head, final String... tail) {
    final String[] all = new String[head.length + tail.length];
    System.arraycopy(head, 0, all, 0, head.length);
    System.arraycopy(tail, 0, all, head.length, tail.length);
    return all;
  }
}
