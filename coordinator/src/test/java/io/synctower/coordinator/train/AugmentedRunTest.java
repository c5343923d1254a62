package io.synctower.coordinator.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.bn.PreciseBn;
import io.synctower.common.checkpoint.CheckpointStore;
import io.synctower.common.config.ConfigException;
import io.synctower.common.config.ConfigLoader;
import io.synctower.common.config.RunConfig;
import io.synctower.common.data.BatchAssembler;
import io.synctower.common.data.Dataset;
import io.synctower.common.data.EpochPermutation;
import io.synctower.common.data.ForwardingDataset;
import io.synctower.common.data.PreciseBnBatches;
import io.synctower.common.nn.BnTraining;
import io.synctower.common.nn.Model;
import io.synctower.common.nn.StatsReducer;
import io.synctower.common.nn.StepContext;
import io.synctower.coordinator.towers.TowerFailedException;
import io.synctower.worker.assembly.Replicas;
import io.synctower.worker.assembly.TrainingData;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * {@code data.augment} in whole runs: the same seed trains on the same augmented global batches on
 * 1 and 3 SyncBN towers (float64: the losses agree to 1e-10) and in a run resumed mid-epoch (bit
 * for bit); validation is never augmented; precise BN forwards augmented batches, each pass with
 * its own draws; a padding the samples cannot hold is refused before any tower starts.
 */
class AugmentedRunTest {
  private static final String CONFIG =
      """
      name: augmented
      seed: 4
      model:
        dtype: float64
        layers:
          - {type: conv2d, filters: 4, kernel: 3, stride: 2, bias: false}
          - {type: batchnorm}
          - {type: relu}
          - {type: flatten}
          - {type: dense, units: 24}
      data:
        train: {type: overfit, size: 24}
        validationSplit: 0.25
        augment: {crop: {padding: 4}, flip: true}
      training:
        epochs: 2
        batchSize: 6
        optimizer: {type: adam, lr: 0.01}
      bn:
        sync: true
      checkpoint:
        every: {steps: 1, minutes: 0}
        keep: 2
      """;

  private static final PrintStream QUIET = new PrintStream(OutputStream.nullOutputStream());

  @TempDir Path dir;

  private static RunConfig config(final String... overrides) {
    final Map<String, String> map = new HashMap<>();
    for (int i = 0; i < overrides.length; i += 2) {
      map.put(overrides[i], overrides[i + 1]);
    }
    return ConfigLoader.parse(CONFIG, "augmented", map);
  }

  /** Without {@code data.augment}: the config text with the line removed. */
  private static RunConfig plain(final String... overrides) {
    final Map<String, String> map = new HashMap<>();
    for (int i = 0; i < overrides.length; i += 2) {
      map.put(overrides[i], overrides[i + 1]);
    }
    return ConfigLoader.parse(
        CONFIG.replace("  augment: {crop: {padding: 4}, flip: true}\n", ""), "plain", map);
  }

  private Trainer trainer(final RunConfig c, final TrainingData d, final Path run)
      throws InterruptedException {
    return new Trainer(c, d, new Trainer.Options(run, false, QUIET));
  }

  private List<Trainer.StepLoss> losses(final RunConfig c, final Path run) throws Exception {
    try (Trainer t = trainer(c, TrainingData.load(c, dir), run)) {
      return t.run().stepLosses();
    }
  }

  @Test
  void oneAndThreeTowersTrainOnTheSameAugmentedBatches() throws Exception {
    final List<Trainer.StepLoss> one = losses(config("towers", "1"), dir.resolve("one"));
    final List<Trainer.StepLoss> three = losses(config("towers", "3"), dir.resolve("three"));
    final List<Trainer.StepLoss> unaugmented = losses(plain("towers", "1"), dir.resolve("plain"));
    assertEquals(6, one.size(), "18 training samples, batches of 6, 2 epochs");
    assertEquals(one.size(), three.size());
    for (int i = 0; i < one.size(); i++) {
      final double expected = one.get(i).loss();
      assertEquals(expected, three.get(i).loss(), 1e-10 * Math.abs(expected), "step " + i);
      // Negative control: the augmentation changes what is trained on from the first step.
      assertNotEquals(expected, unaugmented.get(i).loss(), "step " + i + " without augmentation");
    }
  }

  /** The training set, except that sample {@code failing}'s second read fails, once. */
  private static final class FailsOnce extends ForwardingDataset {
    private final int failing;
    private final AtomicInteger reads = new AtomicInteger();

    FailsOnce(final Dataset inner, final int failing) {
      super(inner);
      this.failing = failing;
    }

    @Override
    public void sample(final int index, final float[] pixels, final int[] labels, final int off) {
      if (index == failing && reads.incrementAndGet() == 2) {
        throw new IllegalStateException("simulated device loss while loading sample " + index);
      }
      inner.sample(index, pixels, labels, off);
    }
  }

  /** The step and loss columns of steps.csv, as written (shortest round-trip decimal: exact). */
  private static List<String> stepsCsv(final Path run) throws Exception {
    return Files.readAllLines(run.resolve("steps.csv")).stream()
        .skip(1)
        .map(l -> l.split(",")[0] + ":" + l.split(",")[3])
        .toList();
  }

  @Test
  void aRunResumedMidEpochRepeatsTheUninterruptedLossesBitForBit() throws Exception {
    final RunConfig c = config("towers", "2", "training.epochs", "3");
    final TrainingData data = TrainingData.load(c, dir);
    final Path straight = dir.resolve("straight");
    try (Trainer t = trainer(c, data, straight)) {
      t.run();
    }
    final Path crashed = dir.resolve("crashed");
    // Epochs are numbered from 1. The sample at position 13 of epoch 2's order: its second read
    // fails in that epoch's last batch (step 5), after the checkpoints of 4 and 5 steps done.
    final int failingSample = EpochPermutation.of(c.seed(), 2, data.train().size())[13];
    final TrainingData failing =
        new TrainingData(
            new FailsOnce(data.train(), failingSample), data.validation(), data.normalization());
    try (Trainer t = trainer(c, failing, crashed)) {
      final TowerFailedException e = assertThrows(TowerFailedException.class, t::run);
      assertTrue(e.getMessage().contains("simulated device loss"), e.getMessage());
    }
    final long resumedAt = new CheckpointStore(crashed.resolve("checkpoints")).loadLatest().step();
    assertTrue(
        resumedAt > 3 && resumedAt % 3 != 0,
        "the crash must come after epoch 1's 3 steps and the resume start mid-epoch, not at "
            + resumedAt);
    try (Trainer t = trainer(c, data, crashed)) {
      t.resumeFrom(new CheckpointStore(crashed.resolve("checkpoints")).loadLatest());
      assertEquals(resumedAt, t.run().stepLosses().get(0).step());
    }
    assertEquals(stepsCsv(straight), stepsCsv(crashed));
  }

  @Test
  void validationIsNeverAugmented() throws Exception {
    // No BN, and SGD with a learning rate so small (1e-300) that w - lr * g rounds to w: the
    // weights stay as initialized, so the validation metrics can only differ if the validation
    // batches did.
    final String[] frozen = {
      "model.layers",
          "[{type: conv2d, filters: 4, kernel: 3}, {type: flatten}, {type: dense," + " units: 24}]",
      "training.optimizer", "{type: sgd, lr: 1e-300}",
      "training.epochs", "1"
    };
    final Path augmented = dir.resolve("augmented");
    final Path unaugmented = dir.resolve("unaugmented");
    final List<Trainer.StepLoss> a = losses(config(frozen), augmented);
    final List<Trainer.StepLoss> p = losses(plain(frozen), unaugmented);
    assertNotEquals(a.get(0).loss(), p.get(0).loss(), "training batches are augmented");
    assertEquals(validationColumns(unaugmented), validationColumns(augmented));
  }

  /** metrics.csv's val_loss, val_acc and val_seq_acc columns of every epoch row. */
  private static List<String> validationColumns(final Path run) throws Exception {
    final List<String> lines = Files.readAllLines(run.resolve("metrics.csv"));
    assertTrue(lines.get(0).contains("val_loss,val_acc,val_seq_acc"), lines.get(0));
    return lines.stream()
        .skip(1)
        .map(l -> String.join(",", List.of(l.split(",")).subList(5, 8)))
        .toList();
  }

  @Test
  void preciseBnForwardsThePassesAugmentedBatchesOnEveryTowerCount() throws Exception {
    final int k = 4; // 3 batches of 6 per pass over 18 samples: the 4th is from pass 1
    final long round = 2;
    final double[] expected = preciseBnReference(config("towers", "1"), k, round);
    for (final String towers : new String[] {"1", "3"}) {
      final RunConfig c = config("towers", towers);
      try (Trainer t = trainer(c, TrainingData.load(c, dir), null)) {
        t.recalibrateBn(k, round);
        assertArrayEquals(expected, t.model(0).state().toDoubleVector(), 1e-10, towers);
      }
    }
    final RunConfig p = plain("towers", "1");
    try (Trainer t = trainer(p, TrainingData.load(p, dir), null)) {
      t.recalibrateBn(k, round);
      final double[] unaugmented = t.model(0).state().toDoubleVector();
      double largest = 0;
      for (int i = 0; i < expected.length; i++) {
        largest = Math.max(largest, Math.abs(expected[i] - unaugmented[i]));
      }
      assertTrue(largest > 1e-6, "augmentation must change the recalibrated statistics");
    }
  }

  /**
   * One model, no towers: the K global batches of precise BN assembled with each pass's draws,
   * forwarded whole in training mode and accumulated.
   */
  private double[] preciseBnReference(final RunConfig c, final int k, final long round) {
    final TrainingData data = TrainingData.load(c, dir);
    final Model m = Replicas.newModel(c, data);
    final PreciseBn precise = new PreciseBn(m);
    final int batch = c.training().batchSize();
    final PreciseBnBatches plan = new PreciseBnBatches(c.seed(), round, data.train().size(), batch);
    for (int j = 0; j < k; j++) {
      final int pass = j / plan.batchesPerPass();
      final BatchAssembler assembler =
          new BatchAssembler(data.train(), null, plan.augmentation(c.data().augment(), pass));
      final INDArray x = assembler.allocate(DataType.DOUBLE, batch);
      assembler.fill(
          plan.order(pass),
          (j % plan.batchesPerPass()) * batch,
          batch,
          x,
          new int[batch * data.train().labelPositions()]);
      m.forward(
          x, new StepContext(true, BnTraining.LOCAL, 0, StatsReducer.LOCAL, c.seed(), j, 0, batch));
      precise.accumulate();
    }
    precise.apply();
    return m.state().toDoubleVector();
  }

  @Test
  void aPaddingTheSamplesCannotHoldIsRefusedBeforeAnyTowerStarts() {
    final RunConfig c = config("data.augment.crop.padding", "29");
    final ConfigException e =
        assertThrows(
            ConfigException.class,
            () -> Preflight.check(c, TrainingData.load(c, dir), "augmented.yaml"));
    assertTrue(
        e.getMessage().contains("data.augment.crop.padding: 29")
            && e.getMessage().contains("use at most 28"),
        e.getMessage());
  }
}
