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
import io.synctower.common.data.PreciseBnBatches;
import io.synctower.common.data.SampleShape;
import io.synctower.common.data.Shards;
import io.synctower.common.nn.BnTraining;
import io.synctower.common.nn.Model;
import io.synctower.common.nn.StatsReducer;
import io.synctower.common.nn.StepContext;
import io.synctower.worker.assembly.Replicas;
import io.synctower.worker.assembly.TrainingData;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Precise BN on towers as threads ({@link Trainer#recalibrateBn}), against references computed in
 * one process with {@link PreciseBn} and {@link Model} directly on the same samples: SyncBN on N
 * towers (uneven and empty shards) equals one forward of each whole global batch; local BN on N
 * towers equals one process forwarding each shard on its own (ghost BN); a BN layer on the raw
 * input gets the plain-Java population statistics of the samples; parameters and frozen layers do
 * not change and every replica ends identical; {@code bn.preciseBatches} recalibrates at the epoch
 * end exactly as an explicit recalibration of the same checkpoint does.
 */
class PreciseBnTowersTest {
  private static final String CONFIG =
      """
      name: precise
      seed: 9
      model:
        dtype: float64
        layers:
          - {type: conv2d, filters: 4, kernel: 3, stride: 2}
          - {type: batchnorm}
          - {type: relu}
          - {type: flatten}
          - {type: dense, units: 8}
          - {type: batchnorm}
          - {type: relu}
          - {type: dense, units: 24}
      data:
        train: {type: overfit, size: 24}
        validationSplit: 0
      training:
        epochs: 1
        batchSize: 7
        optimizer: {type: sgd, lr: 0.05}
      """;

  /** A BN layer right after the flatten: its inputs are the raw pixels. */
  private static final String RAW_INPUT_BN =
      """
      name: raw
      seed: 9
      model:
        dtype: float64
        layers:
          - {type: flatten}
          - {type: batchnorm}
          - {type: dense, units: 24}
      data:
        train: {type: overfit, size: 24}
        validationSplit: 0
      training:
        batchSize: 7
        optimizer: {type: sgd, lr: 0.05}
      """;

  private static final PrintStream QUIET = new PrintStream(OutputStream.nullOutputStream());
  private static final int K = 5; // 3 batches of 7 per pass over 24 samples: K wraps
  private static final long ROUND = 4;

  @TempDir Path dir;

  private static RunConfig config(final String text, final String... overrides) {
    final Map<String, String> map = new HashMap<>();
    for (int i = 0; i < overrides.length; i += 2) {
      map.put(overrides[i], overrides[i + 1]);
    }
    return ConfigLoader.parse(text, "precise", map);
  }

  private Trainer trainer(final RunConfig c, final Path runDir, final PrintStream out)
      throws InterruptedException {
    return new Trainer(c, TrainingData.load(c, dir), new Trainer.Options(runDir, false, out));
  }

  /** The moving statistics after recalibrating on the towers {@code c} asks for. */
  private double[] recalibratedOnTowers(final RunConfig c) throws InterruptedException {
    try (Trainer t = trainer(c, null, QUIET)) {
      t.recalibrateBn(K, ROUND);
      for (int r = 1; r < c.towers(); r++) {
        assertEquals(t.model(0).state(), t.model(r).state(), "tower " + r + " vs tower 0");
      }
      return t.model(0).state().toDoubleVector();
    }
  }

  /** Samples {@code [from, from + count)} of {@code order} as a [count, H, W, C] float64 batch. */
  private static INDArray samples(
      final Dataset train, final int[] order, final int from, final int count) {
    final BatchAssembler assembler = new BatchAssembler(train, null);
    final INDArray x = assembler.allocate(DataType.DOUBLE, count);
    assembler.fill(order, from, count, x, new int[count * train.labelPositions()]);
    return x;
  }

  /**
   * One process, no collectives: each of the K global batches forwarded as {@code parts} pieces
   * (the towers' shards; 1 = the whole batch), every piece accumulated into one PreciseBn.
   */
  private double[] reference(final RunConfig c, final int parts) {
    final TrainingData data = TrainingData.load(c, dir);
    final Model m = Replicas.newModel(c, data);
    final PreciseBn precise = new PreciseBn(m);
    final int batch = c.training().batchSize();
    final PreciseBnBatches plan = new PreciseBnBatches(c.seed(), ROUND, data.train().size(), batch);
    for (int j = 0; j < K; j++) {
      final int[] order = plan.order(j / plan.batchesPerPass());
      final int first = (j % plan.batchesPerPass()) * batch;
      for (int p = 0; p < parts; p++) {
        final int size = Shards.size(batch, parts, p);
        final int offset = Shards.offset(batch, parts, p);
        m.forward(
            samples(data.train(), order, first + offset, size),
            new StepContext(true, BnTraining.LOCAL, 0, StatsReducer.LOCAL, c.seed(), j, 0, batch));
        precise.accumulate();
      }
    }
    precise.apply();
    return m.state().toDoubleVector();
  }

  @ParameterizedTest(name = "{0} towers, batch {1}")
  @CsvSource({"2, 7", "3, 7", "3, 2"})
  void shouldMatchOneProcessOnTheWholeBatchWhenStatisticsAreSynchronized(
      final int towers, final int batch) throws Exception {
    final RunConfig c =
        config(
            CONFIG,
            "towers",
            Integer.toString(towers),
            "training.batchSize",
            Integer.toString(batch),
            "training.allowEmptyShards",
            "true",
            "bn.sync",
            "true");
    final double[] expected = reference(c, 1);
    assertArrayEquals(expected, recalibratedOnTowers(c), 1e-10);
  }

  @Test
  void shouldEqualGhostBnOverTheShardsWithLocalStatistics() throws Exception {
    final RunConfig c = config(CONFIG, "towers", "3");
    final double[] ghost = reference(c, 3);
    final double[] onTowers = recalibratedOnTowers(c);
    assertArrayEquals(ghost, onTowers, 1e-10);
    // Negative control: the whole-batch (SyncBN) population differs after the first BN layer.
    final double[] whole = reference(c, 1);
    double largest = 0;
    for (int i = 0; i < whole.length; i++) {
      largest = Math.max(largest, Math.abs(whole[i] - onTowers[i]));
    }
    assertTrue(largest > 1e-4, "local BN must not match SyncBN, largest difference " + largest);
  }

  @Test
  void shouldGiveABnOnTheRawInputThePopulationStatisticsOfTheSamples() throws Exception {
    final RunConfig c = config(RAW_INPUT_BN, "towers", "2");
    final Dataset train = TrainingData.load(c, dir).train();
    final SampleShape s = train.sampleShape();
    final int features = s.elementCount();
    final double[] sum = new double[features];
    final List<float[]> seen = new ArrayList<>();
    final PreciseBnBatches plan = new PreciseBnBatches(c.seed(), ROUND, train.size(), 7);
    for (int j = 0; j < K; j++) {
      final int[] order = plan.order(j / plan.batchesPerPass());
      for (int i = 0; i < 7; i++) {
        final float[] hwc = new float[features];
        train.sample(order[(j % plan.batchesPerPass()) * 7 + i], hwc, new int[1], 0);
        seen.add(hwc);
      }
    }
    // Flatten emits (C, H, W) order; the dataset gives (H, W, C).
    final double[] mean = new double[features];
    final double[] var = new double[features];
    for (int f = 0; f < features; f++) {
      final int ch = f / (s.height() * s.width());
      final int h = (f / s.width()) % s.height();
      final int w = f % s.width();
      final int at = (h * s.width() + w) * s.channels() + ch;
      for (final float[] hwc : seen) {
        sum[f] += hwc[at];
      }
      mean[f] = sum[f] / seen.size();
      for (final float[] hwc : seen) {
        var[f] += (hwc[at] - mean[f]) * (hwc[at] - mean[f]);
      }
      var[f] /= seen.size() - 1;
    }
    try (Trainer t = trainer(c, null, QUIET)) {
      final PreciseBnResult r = t.recalibrateBn(K, ROUND);
      assertEquals(K * 7, r.samples(), "samples over both towers");
      assertArrayEquals(mean, t.model(1).tensor("bn1.running_mean").toDoubleVector(), 1e-12);
      assertArrayEquals(var, t.model(1).tensor("bn1.running_var").toDoubleVector(), 1e-12);
    }
  }

  @Test
  void shouldLeaveParametersAndFrozenLayersAloneAndTheReplicasIdentical() throws Exception {
    final String frozen =
        CONFIG.replace(
            "- {type: dense, units: 8}\n    - {type: batchnorm}",
            "- {type: dense, units: 8}\n    - {type: batchnorm, trainable: false}");
    final RunConfig c = config(frozen, "towers", "3", "bn.sync", "true");
    try (Trainer t = trainer(c, null, QUIET)) {
      t.model(0).tensor("bn2.running_mean").assign(0.25); // as a pretrained backbone's would be
      for (int r = 1; r < 3; r++) {
        t.model(r).state().assign(t.model(0).state());
      }
      final List<double[]> parameters = new ArrayList<>();
      for (int r = 0; r < 3; r++) {
        parameters.add(t.model(r).parameters().toDoubleVector());
      }
      final double[] before = t.model(0).state().toDoubleVector();
      final PreciseBnResult r = t.recalibrateBn(K, ROUND);
      for (int rank = 0; rank < 3; rank++) {
        assertArrayEquals(parameters.get(rank), t.model(rank).parameters().toDoubleVector(), 0.0);
        assertEquals(t.model(0).state(), t.model(rank).state(), "replica " + rank);
      }
      final Model m = t.model(0);
      assertArrayEquals(
          new double[] {0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25},
          m.tensor("bn2.running_mean").toDoubleVector(),
          0.0,
          "frozen");
      assertNotEquals(before[0], m.state().getDouble(0), "bn1 got new statistics");
      assertEquals(List.of(false, true), r.frozen());
      assertEquals(1.0, r.moved().get(1).varianceRatio(), 0.0);
      assertTrue(r.describe().contains("bn2 (frozen, kept)"), r.describe());
    }
  }

  @Test
  void shouldRefuseANonPositiveBatchCountNamingIt() throws Exception {
    try (Trainer t = trainer(config(CONFIG), null, QUIET)) {
      final ConfigException e = assertThrows(ConfigException.class, () -> t.recalibrateBn(0, 0));
      assertTrue(e.getMessage().contains("batches"), e.getMessage());
    }
  }

  @Test
  void shouldRecalibrateAtTheEpochEndAsAnExplicitRecalibrationOfTheCheckpointDoes()
      throws Exception {
    final RunConfig plain = config(CONFIG, "towers", "2", "bn.sync", "true");
    final RunConfig precise =
        config(CONFIG, "towers", "2", "bn.sync", "true", "bn.preciseBatches", "3");
    final double[] plainState;
    final double[] plainParameters;
    try (Trainer t = trainer(plain, dir.resolve("plain"), QUIET)) {
      t.run();
      plainState = t.model().state().toDoubleVector();
      plainParameters = t.model().parameters().toDoubleVector();
    }
    final ByteArrayOutputStream log = new ByteArrayOutputStream();
    final double[] preciseState;
    try (Trainer t =
        trainer(
            precise, dir.resolve("precise"), new PrintStream(log, true, StandardCharsets.UTF_8))) {
      t.run();
      preciseState = t.model().state().toDoubleVector();
      assertArrayEquals(plainParameters, t.model().parameters().toDoubleVector(), 0.0);
    }
    final String text = log.toString(StandardCharsets.UTF_8);
    assertTrue(text.contains("precise BN: 3 batches (21 samples, 2 towers) in "), text);
    assertTrue(text.indexOf("precise BN: 3") < text.indexOf("    1        3"), "before the row");
    assertTrue(
        Math.abs(plainState[0] - preciseState[0]) > 1e-6, "the recalibration changed bn1's mean");
    try (Trainer t = trainer(plain, null, QUIET)) {
      t.load(new CheckpointStore(dir.resolve("plain").resolve("checkpoints")).loadLatest());
      t.recalibrateBn(3, 1); // round = the epoch that ended
      assertArrayEquals(preciseState, t.model().state().toDoubleVector(), 0.0);
    }
  }
}
