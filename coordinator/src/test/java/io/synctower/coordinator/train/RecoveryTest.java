package io.synctower.coordinator.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.checkpoint.CheckpointStore;
import io.synctower.common.config.ConfigLoader;
import io.synctower.common.config.RunConfig;
import io.synctower.common.data.Dataset;
import io.synctower.common.data.ForwardingDataset;
import io.synctower.coordinator.towers.TowerFailedException;
import io.synctower.worker.assembly.TrainingData;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A run that crashes loses at most one checkpoint interval and continues exactly: a resumed run
 * repeats the uninterrupted run's per-step losses bit for bit (same tower count), and an elastic
 * run that loses one of 4 SyncBN towers goes on with 3 and follows the uninterrupted loss curve.
 * The crash is a tower that fails while loading a sample in epoch 2, once (a device that fell off
 * the bus), after at least one checkpoint was committed.
 */
class RecoveryTest {
  private static final String CONFIG =
      """
      name: recovery
      seed: 5
      towers: 2
      model:
        dtype: float64
        layers:
          - {type: conv2d, filters: 4, kernel: 3, stride: 2, bias: false}
          - {type: batchnorm}
          - {type: relu}
          - {type: flatten}
          - {type: dropout, rate: 0.2}
          - {type: dense, units: 32}
      data:
        train: {type: overfit, size: 32}
      training:
        epochs: 3
        batchSize: 8
        optimizer: {type: adam, lr: 0.01}
        schedule: {type: cosine}
        replicaCheckEvery: 1
      bn:
        sync: true
      checkpoint:
        every: {steps: 1, minutes: 0}
        keep: 2
      """;

  @TempDir Path dir;

  /** The overfit set, except that sample {@code failingSample}'s second read fails, once. */
  private static final class FailsOnce extends ForwardingDataset {
    private final int failingSample;
    private final AtomicInteger reads = new AtomicInteger();

    FailsOnce(final Dataset inner, final int failingSample) {
      super(inner);
      this.failingSample = failingSample;
    }

    @Override
    public void sample(final int index, final float[] pixels, final int[] labels, final int off) {
      if (index == failingSample && reads.incrementAndGet() == 2) {
        throw new IllegalStateException("simulated device loss while loading sample " + index);
      }
      inner.sample(index, pixels, labels, off);
    }
  }

  private RunConfig config(final Map<String, String> overrides) {
    return ConfigLoader.parse(CONFIG, "recovery", overrides);
  }

  private static TrainingData failingOnce(final TrainingData d) {
    return new TrainingData(new FailsOnce(d.train(), 3), d.validation(), d.normalization());
  }

  private Trainer trainer(
      final RunConfig c, final TrainingData d, final Path run, final PrintStream out)
      throws InterruptedException {
    return new Trainer(c, d, new Trainer.Options(run, false, out));
  }

  private static PrintStream quiet() {
    return new PrintStream(OutputStream.nullOutputStream());
  }

  /** The loss column of steps.csv, as written (shortest round-trip decimal: exact). */
  private static List<String> losses(final Path run) throws Exception {
    return Files.readAllLines(run.resolve("steps.csv")).stream()
        .skip(1)
        .map(l -> l.split(",")[0] + ":" + l.split(",")[3])
        .toList();
  }

  @Test
  void aResumedRunRepeatsTheUninterruptedLossesBitForBit() throws Exception {
    final RunConfig c = config(Map.of());
    final TrainingData data = TrainingData.load(c, dir);
    final Path straight = dir.resolve("straight");
    try (Trainer t = trainer(c, data, straight, quiet())) {
      t.run();
    }

    final Path crashed = dir.resolve("crashed");
    try (Trainer t = trainer(c, failingOnce(data), crashed, quiet())) {
      final TowerFailedException e = assertThrows(TowerFailedException.class, t::run);
      assertTrue(e.getMessage().contains("simulated device loss"), e.getMessage());
    }
    final long resumedAt = new CheckpointStore(crashed.resolve("checkpoints")).loadLatest().step();
    assertTrue(resumedAt >= 4, "the crash comes in epoch 2, after the checkpoint of step 4");

    try (Trainer t = trainer(c, data, crashed, quiet())) {
      t.resumeFrom(new CheckpointStore(crashed.resolve("checkpoints")).loadLatest());
      final Trainer.Summary s = t.run();
      assertEquals(resumedAt, s.stepLosses().get(0).step(), "the resume starts at the checkpoint");
    }
    assertEquals(losses(straight), losses(crashed));
    assertEquals(
        Files.readAllLines(straight.resolve("metrics.csv")).stream()
            .map(l -> l.substring(0, l.lastIndexOf(',', l.lastIndexOf(',') - 1)))
            .toList(),
        Files.readAllLines(crashed.resolve("metrics.csv")).stream()
            .map(l -> l.substring(0, l.lastIndexOf(',', l.lastIndexOf(',') - 1)))
            .toList(),
        "epoch rows (without the timing columns) equal the uninterrupted run's");
  }

  @Test
  void anElasticRunThatLosesOneOfFourSyncBnTowersFollowsTheUninterruptedCurve() throws Exception {
    final Map<String, String> four = new HashMap<>(Map.of("towers", "4"));
    four.put("failure.elastic", "true");
    final RunConfig c = config(four);
    final TrainingData data = TrainingData.load(c, dir);
    final Path straight = dir.resolve("straight4");
    final List<Trainer.StepLoss> reference;
    try (Trainer t = trainer(c, data, straight, quiet())) {
      reference = t.run().stepLosses();
    }

    final ByteArrayOutputStream log = new ByteArrayOutputStream();
    final Path elastic = dir.resolve("elastic");
    final Trainer.Summary s;
    try (Trainer t =
        trainer(
            c, failingOnce(data), elastic, new PrintStream(log, true, StandardCharsets.UTF_8))) {
      s = t.run();
    }
    final String text = log.toString(StandardCharsets.UTF_8);
    assertEquals(1, s.restarts(), text);
    assertTrue(text.contains("going on with 3 tower(s) (was 4)"), text);
    assertEquals(reference.size(), s.steps());
    // Steps after the restart ran on 3 towers: SyncBN makes them the same math, so the losses
    // agree to float64 rounding (the reduction order differs, so not bit for bit).
    // The summary holds the steps of the last (3-tower) stretch, from the restart on.
    final List<Trainer.StepLoss> after = s.stepLosses();
    assertTrue(after.size() >= 3, "only " + after.size() + " steps after the restart");
    assertEquals(reference.size(), after.get(after.size() - 1).step() + 1);
    for (final Trainer.StepLoss l : after) {
      final double expected = reference.get((int) l.step()).loss();
      assertEquals(expected, l.loss(), 1e-10 * Math.abs(expected), "step " + l.step());
    }
  }
}
