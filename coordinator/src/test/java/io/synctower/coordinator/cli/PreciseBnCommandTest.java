package io.synctower.coordinator.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.checkpoint.CheckpointStore;
import io.synctower.common.checkpoint.StoredCheckpoint;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code precise-bn} as a user runs it, on a run built to have a train/inference gap: BN decay 0.99
 * and 12 steps leave the moving statistics far behind the weights. The command shrinks the gap it
 * prints, writes a new checkpoint that loads and differs from the original only in {@code
 * state.npy}, leaves the original intact (even with {@code checkpoint.keep: 1}), and refuses bad
 * input with exit code 2 naming the problem.
 */
class PreciseBnCommandTest {
  private static final String CONFIG =
      """
      name: lag
      seed: 9
      towers: 2
      model:
        dtype: float64
        layers:
          - {type: conv2d, filters: 4, kernel: 3, stride: 2}
          - {type: batchnorm}
          - {type: relu}
          - {type: flatten}
          - {type: dense, units: 24}
      data:
        train: {type: overfit, size: 24}
        validationSplit: 0
      training:
        epochs: 6
        batchSize: 12
        optimizer: {type: adam, lr: 0.02}
      bn:
        sync: true
        decay: 0.99
      checkpoint:
        keep: 1
      """;
  private static final Pattern GAP =
      Pattern.compile("training-set loss in inference mode: ([0-9.]+) -> ([0-9.]+)");

  @TempDir Path dir;

  private Path trainedRun() throws Exception {
    final Path config = dir.resolve("lag.yaml");
    Files.writeString(config, CONFIG);
    final Path run = dir.resolve("run");
    final CliRun r =
        CliRun.of(
            "train", "--config", config.toString(), "--run-dir", run.toString(), "--no-progress");
    assertEquals(0, r.code(), r.out() + r.err());
    return run;
  }

  @Test
  void shouldShrinkTheGapAndWriteANewCheckpointBesideTheOriginal() throws Exception {
    final Path run = trainedRun();
    final StoredCheckpoint original = new CheckpointStore(run.resolve("checkpoints")).loadLatest();
    final byte[] originalState = Files.readAllBytes(original.file("state.npy"));

    final CliRun r = CliRun.of("precise-bn", "--checkpoint", run.toString(), "--batches", "4");

    assertEquals(0, r.code(), r.out() + r.err());
    final Matcher gap = GAP.matcher(r.out());
    assertTrue(gap.find(), r.out());
    final double before = Double.parseDouble(gap.group(1));
    final double after = Double.parseDouble(gap.group(2));
    assertTrue(after < before, "inference loss " + before + " -> " + after + "\n" + r.out());
    assertTrue(r.out().contains("precise BN: 4 batches (48 samples, 2 towers)"), r.out());

    final CheckpointStore store = new CheckpointStore(run.resolve("checkpoints"));
    final StoredCheckpoint derived = store.loadLatest();
    assertEquals(original.step(), derived.step());
    assertFalse(derived.directory().equals(original.directory()));
    assertTrue(r.out().contains("new checkpoint: " + derived.directory()), r.out());
    final StoredCheckpoint kept = CheckpointStore.load(original.directory());
    assertArrayEquals(originalState, Files.readAllBytes(kept.file("state.npy")), "original kept");
    for (final String file : List.of("parameters.npy", "trainer.yaml", "config.yaml")) {
      assertArrayEquals(
          Files.readAllBytes(kept.file(file)), Files.readAllBytes(derived.file(file)), file);
    }
    assertFalse(
        Arrays.equals(originalState, Files.readAllBytes(derived.file("state.npy"))),
        "new moving statistics");

    // The new checkpoint is a run's latest like any other: precise BN again starts from it and
    // finds nothing left to move beyond rounding.
    final CliRun again = CliRun.of("precise-bn", "--checkpoint", run.toString(), "--batches", "4");
    assertEquals(0, again.code(), again.out() + again.err());
    final Matcher moved =
        Pattern.compile("moved bn1 mean (\\S+) sd var x(\\S+)").matcher(again.out());
    assertTrue(moved.find(), again.out());
    assertTrue(Double.parseDouble(moved.group(1)) < 1e-9, again.out());
    assertEquals(1.0, Double.parseDouble(moved.group(2)), 1e-9, again.out());
    assertEquals(3, store.committed().size(), "nothing pruned: " + store.committed());
  }

  @Test
  void shouldWriteIntoAnotherRunDirectoryWithOutAndRefuseACorruptCheckpoint() throws Exception {
    final Path run = trainedRun();
    final Path checkpoint =
        new CheckpointStore(run.resolve("checkpoints")).loadLatest().directory();
    final Path out = dir.resolve("recalibrated");

    final CliRun r =
        CliRun.of(
            "precise-bn",
            "--checkpoint",
            checkpoint.toString(),
            "--batches",
            "2",
            "--towers",
            "3",
            "--out",
            out.toString());

    assertEquals(0, r.code(), r.out() + r.err());
    assertTrue(r.out().contains("3 towers"), r.out());
    assertEquals(1, new CheckpointStore(out.resolve("checkpoints")).loadLatest().step() / 12);
    assertTrue(Files.exists(out.resolve("config.yaml")));
    assertEquals(List.of(checkpoint), new CheckpointStore(run.resolve("checkpoints")).committed());

    // A checkpoint copied out of its store needs --out: its folder is no store to commit into.
    final Path copy = dir.resolve("copied");
    Files.createDirectories(copy);
    try (var files = Files.list(checkpoint)) {
      for (final Path f : files.toList()) {
        Files.copy(f, copy.resolve(f.getFileName()));
      }
    }
    final CliRun outside =
        CliRun.of("precise-bn", "--checkpoint", copy.toString(), "--batches", "2");
    assertEquals(2, outside.code(), outside.out() + outside.err());
    assertTrue(outside.err().contains("give --out RUN_DIR"), outside.err());

    // A damaged file of the checkpoint: refused naming the file (exit code 2).
    final Path state =
        new CheckpointStore(run.resolve("checkpoints")).loadLatest().file("state.npy");
    final byte[] bytes = Files.readAllBytes(state);
    bytes[bytes.length - 1] ^= 1;
    Files.write(state, bytes);
    final CliRun corrupt =
        CliRun.of("precise-bn", "--checkpoint", run.toString(), "--batches", "5");
    assertEquals(2, corrupt.code(), corrupt.out() + corrupt.err());
    assertTrue(corrupt.err().contains("state.npy"), corrupt.err());
  }

  @Test
  void shouldRefuseBadInputWithExitCode2NamingTheProblem() throws Exception {
    final CliRun zero = CliRun.of("precise-bn", "--checkpoint", dir.toString(), "--batches", "0");
    assertEquals(2, zero.code());
    assertTrue(zero.err().contains("--batches") && zero.err().contains("positive"), zero.err());

    final CliRun missing =
        CliRun.of("precise-bn", "--checkpoint", dir.resolve("nope").toString(), "--batches", "5");
    assertEquals(2, missing.code());
    assertTrue(missing.err().contains("not a directory"), missing.err());

    final CliRun empty = CliRun.of("precise-bn", "--checkpoint", dir.toString(), "--batches", "5");
    assertEquals(2, empty.code());
    assertTrue(empty.err().contains("manifest"), empty.err());
  }
}
