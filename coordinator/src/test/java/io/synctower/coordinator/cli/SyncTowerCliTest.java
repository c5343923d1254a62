package io.synctower.coordinator.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.checkpoint.WeightLayout;
import io.synctower.common.checkpoint.WeightsFile;
import io.synctower.common.config.ConfigLoader;
import io.synctower.common.config.RunConfig;
import io.synctower.common.nn.Model;
import io.synctower.common.protocol.JoinAuth;
import io.synctower.worker.assembly.Replicas;
import io.synctower.worker.assembly.TrainingData;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The train command end to end: exit codes, error messages, weight export and import. */
class SyncTowerCliTest {
  private static final String CONFIG = TinyConfig.YAML;

  @TempDir Path dir;

  private Path config(final String text) throws Exception {
    return TinyConfig.write(dir, text);
  }

  /** Runs the CLI, returning its exit code; stdout is discarded, stderr goes to {@code err}. */
  private static int run(final ByteArrayOutputStream err, final String... args) {
    return run(OutputStream.nullOutputStream(), err, args);
  }

  /** Runs the CLI, returning its exit code; stdout goes to {@code out}, stderr to {@code err}. */
  private static int run(
      final OutputStream out, final ByteArrayOutputStream err, final String... args) {
    final PrintStream oldOut = System.out;
    final PrintStream oldErr = System.err;
    System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
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
    final Model fresh = Replicas.newModel(config, TrainingData.load(config, dir));
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

  /**
   * A model whose first convolution does not fit the overfit set's 29x29 images and whose output (7
   * values) does not match its 16 classes: found only once the data's shape is known.
   */
  private static final String SHAPES_DO_NOT_FLOW =
      CONFIG.replace("kernel: 3", "kernel: 31").replace("units: 16", "units: 7");

  @Test
  void launchWithShapesThatDoNotFlowExitsTwoBeforeSpawningAnyWorker() throws Exception {
    final Path cfg = config(SHAPES_DO_NOT_FLOW);
    final ByteArrayOutputStream out = new ByteArrayOutputStream();
    final ByteArrayOutputStream err = new ByteArrayOutputStream();
    final long childrenBefore = ProcessHandle.current().children().count();
    final int code =
        run(
            out,
            err,
            "launch",
            "--config",
            cfg.toString(),
            "--towers",
            "2",
            "--no-progress",
            "--run-dir",
            dir.resolve("run").toString());
    final String message = err.toString(StandardCharsets.UTF_8);
    assertEquals(2, code, message + out.toString(StandardCharsets.UTF_8));
    assertTrue(message.contains("2 problems in " + cfg), message);
    assertTrue(message.contains("model.layers[0] (conv1, conv2d)"), message);
    assertTrue(message.contains("kernel 31"), message);
    assertTrue(message.contains("the model outputs [7] per sample"), message);
    assertTrue(message.contains("dense layer of 16 units"), message);
    // No worker was started: none of their [tower r] lines, no child process, no run directory.
    assertFalse(out.toString(StandardCharsets.UTF_8).contains("[tower"), out::toString);
    assertEquals(childrenBefore, ProcessHandle.current().children().count());
    assertFalse(Files.exists(dir.resolve("run")));
  }

  @Test
  void launchWithMoreTowersThanSamplesExitsTwoUnlessEmptyShardsAreAllowed() throws Exception {
    final Path cfg = config(CONFIG);
    final ByteArrayOutputStream err = new ByteArrayOutputStream();
    final int code = run(err, "launch", "--config", cfg.toString(), "--towers", "6");
    final String message = err.toString(StandardCharsets.UTF_8);
    assertEquals(2, code, message);
    assertTrue(message.contains("towers: 6 towers > training.batchSize 4"), message);
    assertTrue(message.contains("training.allowEmptyShards: true"), message);
  }

  @Test
  void trainAndCoordinatorReportShapeProblemsAsBadInput() throws Exception {
    final Path cfg = config(SHAPES_DO_NOT_FLOW);
    final ByteArrayOutputStream err = new ByteArrayOutputStream();
    assertEquals(2, run(err, "train", "--config", cfg.toString(), "--no-progress"), err::toString);
    assertTrue(err.toString(StandardCharsets.UTF_8).contains("kernel 31"), err::toString);

    final Path secret = dir.resolve("secret");
    Files.createFile(
        secret, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    Files.writeString(secret, JoinAuth.newSecretHex(new SecureRandom()));
    final ByteArrayOutputStream coordinatorErr = new ByteArrayOutputStream();
    final int code =
        run(
            coordinatorErr,
            "coordinator",
            "--config",
            cfg.toString(),
            "--secret-file",
            secret.toString(),
            "--towers",
            "2");
    final String message = coordinatorErr.toString(StandardCharsets.UTF_8);
    assertEquals(2, code, message);
    assertTrue(message.contains("the model outputs [7] per sample"), message);
  }

  private static String[] concat(final String[] head, final String... tail) {
    final String[] all = new String[head.length + tail.length];
    System.arraycopy(head, 0, all, 0, head.length);
    System.arraycopy(tail, 0, all, head.length, tail.length);
    return all;
  }
}
