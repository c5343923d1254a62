package io.synctower.coordinator.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.coordinator.train.TensorBoardFiles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A run writes TensorBoard scalars into {@code RUN_DIR/tensorboard}: read back independently, the
 * step losses are steps.csv's (every {@code logging.everySteps} steps) and the epoch scalars are
 * metrics.csv's rows; {@code logging.tensorboard: false} writes none.
 */
class TensorBoardCliTest {
  @Test
  void scalarsShouldMatchTheStepLogAndMetricsCsv(@TempDir final Path dir) throws Exception {
    final Path run = dir.resolve("run");
    final CliRun r =
        CliRun.train(
            TinyConfig.write(dir, TinyConfig.YAML),
            run,
            "--steps",
            "6",
            "--set",
            "logging.everySteps=2");
    assertEquals(0, r.code(), r.all());
    final List<TensorBoardFiles.Event> events = new ArrayList<>();
    try (Stream<Path> files = Files.list(run.resolve("tensorboard"))) {
      for (final Path f : files.toList()) {
        events.addAll(TensorBoardFiles.read(f));
      }
    }
    // steps.csv: step (0-based), epoch, batch, loss, lr, skipped
    final List<String> steps = Files.readAllLines(run.resolve("steps.csv"));
    int stepEvents = 0;
    for (final TensorBoardFiles.Event e : events) {
      final Float loss = e.scalars().get("step/loss");
      if (loss != null) {
        stepEvents++;
        assertEquals(0, e.step() % 2, "every 2 steps");
        final String[] row = rowOfStep(steps, e.step() - 1);
        assertEquals((float) Double.parseDouble(row[3]), loss, "step/loss at " + e.step());
        assertEquals((float) Double.parseDouble(row[4]), e.scalars().get("step/lr"));
      }
    }
    assertEquals(3, stepEvents, "steps 2, 4, 6");
    // metrics.csv: epoch,step,train_loss,train_acc,...,val_loss,val_acc,...
    final List<String> metrics = Files.readAllLines(run.resolve("metrics.csv"));
    final List<TensorBoardFiles.Event> epochs =
        events.stream().filter(e -> e.scalars().containsKey("epoch/train_loss")).toList();
    assertEquals(metrics.size() - 1, epochs.size(), "one event per metrics.csv row");
    for (int i = 0; i < epochs.size(); i++) {
      final String[] row = metrics.get(i + 1).split(",");
      final Map<String, Float> s = epochs.get(i).scalars();
      assertEquals(Long.parseLong(row[1]), epochs.get(i).step());
      assertEquals(Double.parseDouble(row[2]), s.get("epoch/train_loss"), 1e-5);
      assertEquals(Double.parseDouble(row[3]), s.get("epoch/train_acc"), 1e-5);
      assertEquals(Double.parseDouble(row[5]), s.get("epoch/val_loss"), 1e-5);
      assertTrue(s.get("time/step_ms") > 0, s.toString());
    }
  }

  @Test
  void tensorboardFalseWritesNoEvents(@TempDir final Path dir) throws Exception {
    final Path run = dir.resolve("run");
    final CliRun r =
        CliRun.train(
            TinyConfig.write(dir, TinyConfig.YAML),
            run,
            "--steps",
            "2",
            "--set",
            "logging.tensorboard=false");
    assertEquals(0, r.code(), r.all());
    assertFalse(Files.exists(run.resolve("tensorboard")));
  }

  @Test
  void overwriteNeverDeletesAFileOfTheUsersInTheTensorBoardFolder(@TempDir final Path dir)
      throws Exception {
    final Path run = dir.resolve("run");
    final String config = TinyConfig.write(dir, TinyConfig.YAML).toString();
    final String[] train = {
      "train", "--config", config, "--steps", "1", "--no-doctor", "--run-dir", run.toString()
    };
    assertEquals(0, CliRun.of(train).code());
    final Path mine = run.resolve("tensorboard").resolve("my-notes.txt");
    Files.writeString(mine, "keep me");
    final String[] again =
        Stream.concat(Stream.of(train), Stream.of("--overwrite")).toArray(String[]::new);
    final CliRun r = CliRun.of(again);
    assertEquals(2, r.code(), r.all());
    assertTrue(r.err().contains("tensorboard/my-notes.txt"), r.all());
    assertEquals("keep me", Files.readString(mine));
  }

  private static String[] rowOfStep(final List<String> lines, final long step) {
    for (final String line : lines) {
      final String[] row = line.split(",");
      if (row[0].equals(Long.toString(step))) {
        return row;
      }
    }
    throw new AssertionError("no step " + step + " in steps.csv: " + lines);
  }
}
