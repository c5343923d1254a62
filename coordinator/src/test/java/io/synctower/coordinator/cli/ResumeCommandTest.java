package io.synctower.coordinator.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code train --resume} and {@code export} as a user runs them: a run stopped after 6 steps and
 * resumed to 10 has the per-step losses of a straight 10-step run; a config describing another
 * model is refused naming the difference; a corrupt checkpoint is refused naming the file, and
 * {@code --fallback} goes back to the previous one; {@code export} writes the same weights as the
 * run's own {@code --export-weights}.
 */
class ResumeCommandTest {
  private static final String CONFIG =
      """
      name: resume
      towers: 2
      model:
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
        batchSize: 4
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

  private CliRun train(
      final Path config, final Path run, final String steps, final String... more) {
    final List<String> args =
        new java.util.ArrayList<>(
            List.of(
                "train",
                "--config",
                config.toString(),
                "--steps",
                steps,
                "--no-progress",
                "--run-dir",
                run.toString()));
    args.addAll(List.of(more));
    return CliRun.of(args.toArray(String[]::new));
  }

  @Test
  void aRunResumedFromItsCheckpointHasTheLossesOfAStraightRun() throws Exception {
    final Path cfg = config("c.yaml", CONFIG);
    final Path straight = dir.resolve("straight");
    final CliRun a = train(cfg, straight, "10");
    assertEquals(0, a.code(), a.err());

    final Path stopped = dir.resolve("stopped");
    final CliRun b = train(cfg, stopped, "6");
    assertEquals(0, b.code(), b.err());
    final CliRun c =
        CliRun.of("train", "--resume", stopped.toString(), "--steps", "10", "--no-progress");
    assertEquals(0, c.code(), c.err());
    assertTrue(c.out().contains("resuming from"), c.out());
    assertTrue(c.out().contains("resume: changed training.steps: 6 -> 10"), c.out());

    assertEquals(
        Files.readAllLines(straight.resolve("steps.csv")),
        Files.readAllLines(stopped.resolve("steps.csv")),
        "per-step losses (shortest round-trip decimals) of the resumed run");
  }

  @Test
  void aConfigForAnotherModelIsRefusedNamingTheDifference() throws Exception {
    final Path cfg = config("c.yaml", CONFIG);
    final Path run = dir.resolve("run");
    assertEquals(0, train(cfg, run, "4").code());
    final Path other = config("other.yaml", CONFIG.replace("filters: 4", "filters: 8"));

    final CliRun r = CliRun.of("train", "--resume", run.toString(), "--config", other.toString());

    assertEquals(2, r.code(), r.out() + r.err());
    assertTrue(r.err().contains("model.layers[0].filters: 4 -> 8"), r.err());
  }

  @Test
  void aCorruptCheckpointIsNamedAndFallbackGoesBackToThePreviousOne() throws Exception {
    final Path cfg = config("c.yaml", CONFIG);
    final Path run = dir.resolve("run");
    assertEquals(0, train(cfg, run, "4").code());
    final Path checkpoints = run.resolve("checkpoints");
    final Path latest = checkpoints.resolve(Files.readString(checkpoints.resolve("latest")).trim());
    final Path params = latest.resolve("parameters.npy");
    final byte[] bytes = Files.readAllBytes(params);
    bytes[bytes.length - 3] ^= 0x40;
    Files.write(params, bytes);

    final CliRun refused = CliRun.of("train", "--resume", run.toString(), "--no-progress");
    assertEquals(2, refused.code(), refused.out());
    assertTrue(refused.err().contains(params.toString()), refused.err());
    assertTrue(refused.err().contains("checksum"), refused.err());

    final CliRun fallback =
        CliRun.of(
            "train", "--resume", run.toString(), "--fallback", "--steps", "6", "--no-progress");
    assertEquals(0, fallback.code(), fallback.err());
    assertTrue(fallback.out().contains("resume: skipped"), fallback.out());
    assertTrue(fallback.out().contains("step 2, epoch 1, batch 2"), fallback.out());
  }

  @Test
  void exportWritesTheWeightsTheRunItselfExported() throws Exception {
    final Path cfg = config("c.yaml", CONFIG);
    final Path run = dir.resolve("run");
    final Path own = dir.resolve("own.npz");
    assertEquals(0, train(cfg, run, "3", "--export-weights", own.toString()).code());
    final Path exported = dir.resolve("exported.npz");

    final CliRun r =
        CliRun.of("export", "--checkpoint", run.toString(), "--out", exported.toString());

    assertEquals(0, r.code(), r.err());
    // Same tensors, same bits (the zip entries' timestamps may differ).
    assertEquals(
        io.synctower.common.data.Npz.read(own), io.synctower.common.data.Npz.read(exported));
    assertEquals(2, CliRun.of("export", "--checkpoint", run.toString(), "--format", "onnx").code());
  }
}
