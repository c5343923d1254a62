package io.synctower.coordinator.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.config.ConfigLoader;
import io.synctower.common.config.RunConfig;
import io.synctower.common.data.Dataset;
import io.synctower.common.data.EpochPermutation;
import io.synctower.common.data.ForwardingDataset;
import io.synctower.common.data.Shards;
import io.synctower.common.protocol.Report;
import io.synctower.coordinator.towers.TowerFailedException;
import io.synctower.worker.assembly.TrainingData;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Failures during training, on towers as threads: a NaN in one tower's data stops every tower (or
 * skips the step) and names the step, the tower and where; a tower that stalls is detected within
 * its deadline and named; nothing hangs.
 */
class FailureHandlingTest {
  private static final String CONFIG =
      """
      name: failures
      seed: 9
      towers: 3
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
      training:
        epochs: 2
        batchSize: 6
        optimizer: {type: sgd, lr: 0.05}
      bn:
        sync: true
      """;

  /**
   * Wraps a dataset: sample {@code poisoned} holds a NaN; sample {@code stalls} blocks in epoch 2.
   */
  private static final class Faulty extends ForwardingDataset {
    private final int poisoned;
    private final int stalls;
    private final CountDownLatch never = new CountDownLatch(1);
    private final java.util.concurrent.atomic.AtomicInteger stallReads =
        new java.util.concurrent.atomic.AtomicInteger();

    Faulty(final Dataset inner, final int poisoned, final int stalls) {
      super(inner);
      this.poisoned = poisoned;
      this.stalls = stalls;
    }

    @Override
    public void sample(final int index, final float[] pixels, final int[] labels, final int off) {
      inner.sample(index, pixels, labels, off);
      if (index == poisoned) {
        pixels[5] = Float.NaN;
      }
      if (index == stalls && stallReads.incrementAndGet() == 2) {
        try {
          never.await(); // a hung device: no error, no progress
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    }
  }

  @TempDir Path dir;

  private RunConfig config(final Map<String, String> overrides) {
    return ConfigLoader.parse(CONFIG, "failures", overrides);
  }

  /** Where {@code sample} lands in epoch 1: the step and the tower whose shard holds it. */
  private static int[] stepAndTowerOf(final RunConfig c, final int trainSize, final int sample) {
    final int[] order = EpochPermutation.of(c.seed(), 1, trainSize);
    final int position = Arrays.stream(order).boxed().toList().indexOf(sample);
    final int batch = c.training().batchSize();
    final int inBatch = position % batch;
    for (int r = 0; r < c.towers(); r++) {
      final int from = Shards.offset(batch, c.towers(), r);
      if (inBatch >= from && inBatch < from + Shards.size(batch, c.towers(), r)) {
        return new int[] {position / batch, r};
      }
    }
    throw new AssertionError("unreachable");
  }

  private Trainer trainer(final RunConfig c, final Dataset train, final PrintStream out)
      throws InterruptedException {
    final TrainingData plain = TrainingData.load(c, dir);
    return new Trainer(
        c,
        new TrainingData(train, plain.validation(), plain.normalization()),
        new Trainer.Options(dir.resolve("run"), false, out));
  }

  @Test
  void aNanOnOneTowerStopsEveryTowerNamingTheStepTheTowerAndTheInput() throws Exception {
    final RunConfig c = config(Map.of());
    final TrainingData plain = TrainingData.load(c, dir);
    final int poisoned = 7;
    final int[] where = stepAndTowerOf(c, plain.train().size(), poisoned);
    assertTimeoutPreemptively(
        Duration.ofSeconds(60),
        () -> {
          try (Trainer t =
              trainer(
                  c,
                  new Faulty(plain.train(), poisoned, -1),
                  new PrintStream(OutputStream.nullOutputStream()))) {
            final TowerFailedException e = assertThrows(TowerFailedException.class, t::run);
            assertEquals(Report.Cause.NON_FINITE, e.failure(), e.getMessage());
            assertEquals(where[1], e.rank(), e.getMessage());
            assertTrue(
                e.getMessage().contains("NaN/Inf at step " + where[0] + " on tower " + where[1]),
                e.getMessage());
            assertTrue(e.getMessage().contains("the input batch"), e.getMessage());
          }
        });
  }

  @Test
  void withSkipTheNonFiniteStepIsSkippedOnEveryTowerAndTheRunGoesOn() throws Exception {
    final RunConfig c = config(Map.of("failure.onNonFinite", "skip"));
    final TrainingData plain = TrainingData.load(c, dir);
    final int poisoned = 7;
    final int[] where = stepAndTowerOf(c, plain.train().size(), poisoned);
    final ByteArrayOutputStream log = new ByteArrayOutputStream();
    final Trainer.Summary s;
    try (Trainer t =
        trainer(
            c,
            new Faulty(plain.train(), poisoned, -1),
            new PrintStream(log, true, StandardCharsets.UTF_8))) {
      s = t.run();
    }
    final long skipped = s.stepLosses().stream().filter(Trainer.StepLoss::skipped).count();
    assertEquals(2, skipped, "the poisoned sample is in one step of each of the 2 epochs");
    assertTrue(s.stepLosses().get(where[0]).skipped());
    assertTrue(Double.isFinite(s.last().trainLoss()), "skipped steps stay out of the epoch loss");
    assertTrue(
        log.toString(StandardCharsets.UTF_8)
            .contains("step " + where[0] + " skipped (failure.onNonFinite: skip)"),
        log.toString(StandardCharsets.UTF_8));
    assertTrue(log.toString(StandardCharsets.UTF_8).contains("tower " + where[1] + ": the input"));
  }

  @Test
  void aStalledTowerIsNamedWithinItsDeadline() throws Exception {
    final RunConfig c = config(Map.of("failure.stepDeadline", "1s"));
    final TrainingData plain = TrainingData.load(c, dir);
    final int stalls = 11;
    final int[] where = stepAndTowerOf(c, plain.train().size(), stalls);
    assertTimeoutPreemptively(
        Duration.ofSeconds(60),
        () -> {
          try (Trainer t =
              trainer(
                  c,
                  new Faulty(plain.train(), -1, stalls),
                  new PrintStream(OutputStream.nullOutputStream()))) {
            final long start = System.nanoTime();
            final TowerFailedException e = assertThrows(TowerFailedException.class, t::run);
            assertEquals(Report.Cause.STALLED, e.failure(), e.getMessage());
            assertTrue(e.getMessage().contains("tower(s) [" + where[1] + "]"), e.getMessage());
            // Epoch 1 takes well under a second here; the stall comes in epoch 2 and must be
            // named within 3 typical steps + 1 s + the 1 s grace, far below the 60 s guard.
            final double seconds = (System.nanoTime() - start) / 1e9;
            assertTrue(seconds < 30, "detected after " + seconds + " s");
          }
        });
  }

  @Test
  void aCheckpointThatCannotBeWrittenEndsTheRunNamingItAndKeepsNothingHalfWritten()
      throws Exception {
    final RunConfig c = config(Map.of("checkpoint.every.steps", "2"));
    final TrainingData plain = TrainingData.load(c, dir);
    // Where the checkpoint directory should be there is a file: every write fails, as on a
    // full or read-only disk.
    java.nio.file.Files.createDirectories(dir.resolve("run"));
    java.nio.file.Files.writeString(dir.resolve("run/checkpoints"), "not a directory");
    assertTimeoutPreemptively(
        Duration.ofSeconds(60),
        () -> {
          try (Trainer t =
              trainer(c, plain.train(), new PrintStream(OutputStream.nullOutputStream()))) {
            final TowerFailedException e = assertThrows(TowerFailedException.class, t::run);
            assertEquals(Report.Cause.CHECKPOINT, e.failure(), e.getMessage());
            assertEquals(0, e.rank(), "tower 0 writes the checkpoints");
            assertTrue(
                e.getMessage().contains("checkpoint of step 2 could not be written"),
                e.getMessage());
            assertTrue(e.getMessage().contains("previous checkpoint is intact"), e.getMessage());
          }
        });
    assertEquals("not a directory", java.nio.file.Files.readString(dir.resolve("run/checkpoints")));
  }
}
