package io.synctower.coordinator.doctor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.config.ConfigLoader;
import io.synctower.common.config.RunConfig;
import io.synctower.common.data.BatchAssembler;
import io.synctower.common.data.EpochPermutation;
import io.synctower.common.nn.Model;
import io.synctower.common.nn.StepContext;
import io.synctower.coordinator.train.EpochRecord;
import io.synctower.coordinator.train.Trainer;
import io.synctower.worker.assembly.Replicas;
import io.synctower.worker.assembly.TrainingData;
import java.io.OutputStream;
import java.io.PrintStream;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The checks that measure, on a tiny float64 model trained on {@link Blobs}: the population
 * statistics, the deviation of the moving statistics and the accuracy after precise BN are checked
 * against the same quantities computed here in plain Java from the BN layer's inputs; the grouping
 * of training-mode forwards against the tower-count invariance of SyncBN.
 */
class DoctorChecksTest {
  /** flatten, fc1, bn1, relu, fc2: bn1's input is fc1's output whatever the BN mode. */
  private static final String CONFIG =
      """
      name: blobs
      seed: 5
      model:
        dtype: float64
        layers:
          - {type: flatten}
          - {type: dense, units: 6}
          - {type: batchnorm}
          - {type: relu}
          - {type: dense, units: 4}
      data:
        train: {type: overfit, size: 64}
        validationSplit: 0
      training:
        epochs: 3
        batchSize: 16
        optimizer: {type: sgd, lr: 0.1, momentum: 0.9}
      bn:
        decay: 0.999
      doctor: false
      """;

  private static final int FC1 = 1;
  private static final TrainingData DATA = new TrainingData(new Blobs(64), null, null);

  /** decay 0.999 for 12 steps: the moving statistics have moved 1% of the way. */
  private static RunConfig lagging;

  private static Model laggingModel;

  @BeforeAll
  static void train() throws Exception {
    lagging = config(Map.of());
    laggingModel = train(lagging);
  }

  static RunConfig config(final Map<String, String> overrides) {
    return ConfigLoader.parse(CONFIG, "blobs", overrides);
  }

  static Model train(final RunConfig config) throws Exception {
    final PrintStream quiet = new PrintStream(OutputStream.nullOutputStream());
    try (Trainer trainer = new Trainer(config, DATA, new Trainer.Options(null, false, quiet))) {
      trainer.run();
      return trainer.model();
    }
  }

  private static Evidence evidence(final RunConfig config, final Model model) {
    return new Evidence(config, model, DATA, List.of(), 64, Progress.NONE);
  }

  /** The doctor's sample, as its contract says: the first samples of the seed's permutation 0. */
  private static INDArray sampleInputs(final RunConfig config, final int[] labels) {
    final int[] order = EpochPermutation.of(config.seed(), 0, DATA.train().size());
    final BatchAssembler assembler = new BatchAssembler(DATA.train(), null);
    final INDArray x = assembler.allocate(DataType.DOUBLE, 64);
    assembler.fill(order, 0, 64, x, labels);
    return x;
  }

  /** Per-column mean and unbiased variance of {@code rows}. */
  private static double[][] population(final double[][] rows) {
    final int c = rows[0].length;
    final double[] mean = new double[c];
    final double[] var = new double[c];
    for (final double[] r : rows) {
      for (int j = 0; j < c; j++) {
        mean[j] += r[j] / rows.length;
      }
    }
    for (final double[] r : rows) {
      for (int j = 0; j < c; j++) {
        var[j] += (r[j] - mean[j]) * (r[j] - mean[j]) / (rows.length - 1);
      }
    }
    return new double[][] {mean, var};
  }

  /** Mean cross-entropy and accuracy of inference-mode logits, by hand: {loss, accuracy}. */
  private static double[] lossAndAccuracy(final Model model, final INDArray x, final int[] labels) {
    final double[][] logits = model.forward(x, StepContext.inference()).toDoubleMatrix();
    double loss = 0;
    int correct = 0;
    for (int i = 0; i < logits.length; i++) {
      final double max = Arrays.stream(logits[i]).max().orElseThrow();
      double sum = 0;
      int best = 0;
      for (int k = 0; k < logits[i].length; k++) {
        sum += Math.exp(logits[i][k] - max);
        best = logits[i][k] > logits[i][best] ? k : best;
      }
      loss += max + Math.log(sum) - logits[i][labels[i]];
      correct += best == labels[i] ? 1 : 0;
    }
    return new double[] {loss / logits.length, (double) correct / logits.length};
  }

  @Test
  void laggingMovingStatisticsShowAsAGapThatPreciseBnClosesToTheHandComputedPopulation() {
    final Evidence evidence = evidence(lagging, laggingModel);
    final Measurements m = evidence.measurements();
    final int[] labels = new int[64];
    final INDArray x = sampleInputs(lagging, labels);

    // Oracle: bn1's population is fc1's output on the sample, in plain Java.
    final Model probe = evidence.copyWithoutDropout();
    probe.forward(x, StepContext.inference());
    final double[][] pop = population(probe.lastOutputs().get(FC1).toDoubleMatrix());
    final LayerStatistics bn1 = m.layers().get(0);
    assertArrayEquals(pop[0], bn1.populationMean(), 1e-10);
    assertArrayEquals(pop[1], bn1.populationVar(), 1e-10);

    // Inference with the run's statistics, and with the population's, both computed by hand.
    final double[] before = lossAndAccuracy(probe, x, labels);
    probe.tensor("bn1.running_mean").assign(vector(pop[0]));
    probe.tensor("bn1.running_var").assign(vector(pop[1]));
    final double[] after = lossAndAccuracy(probe, x, labels);
    assertEquals(before[0], m.inference().loss(), 1e-9);
    assertEquals(before[1], m.inference().accuracy(), 1e-12);
    assertEquals(after[0], m.preciseInference().loss(), 1e-9);
    assertEquals(after[1], m.preciseInference().accuracy(), 1e-12);

    final Finding gap = new TrainInferenceGapCheck().examine(evidence);
    assertEquals(Severity.PROBLEM, gap.severity(), gap.toString());
    assertTrue(m.training().accuracy() - m.inference().accuracy() >= 0.10, m.toString());
    assertTrue(gap.measured().contains("precise BN closes it"), gap.measured());
    assertTrue(
        gap.fix().contains("bin/synctower precise-bn --checkpoint")
            && gap.fix().contains("bn.preciseBatches: 50"));

    // The stale check's numbers, from the same oracle.
    final double[] mean = laggingModel.tensor("bn1.running_mean").toDoubleVector();
    final double[] var = laggingModel.tensor("bn1.running_var").toDoubleVector();
    double worstMean = 0;
    double worstRatio = 1;
    for (int c = 0; c < mean.length; c++) {
      worstMean = Math.max(worstMean, Math.abs(mean[c] - pop[0][c]) / Math.sqrt(pop[1][c] + 1e-3));
      final double r = (var[c] + 1e-3) / (pop[1][c] + 1e-3);
      worstRatio = Math.max(worstRatio, Math.max(r, 1 / r));
    }
    assertEquals(worstMean, bn1.meanDeviation(), 1e-9);
    assertEquals(worstRatio, bn1.varianceRatio(), 1e-9);
    final Finding stale = new StaleStatisticsCheck().examine(evidence);
    assertEquals(Severity.PROBLEM, stale.severity(), stale.toString());
    assertTrue(stale.measured().contains("(bn1)"), stale.measured());
  }

  private static INDArray vector(final double[] values) {
    return org.nd4j.linalg.factory.Nd4j.createFromArray(values);
  }

  @Test
  void movingStatisticsStillAtTheirInitialValuesAreNamedAsNeverUpdated() {
    final Evidence trained = evidence(lagging, laggingModel);
    final Model reset = trained.copyWithoutDropout();
    reset.tensor("bn1.running_mean").assign(0);
    reset.tensor("bn1.running_var").assign(1);
    final Finding f = new StaleStatisticsCheck().examine(evidence(lagging, reset));
    assertEquals(Severity.PROBLEM, f.severity());
    assertTrue(f.measured().startsWith("bn1 never updated"), f.measured());
    assertTrue(f.fix().contains("precise-bn"), f.fix());
  }

  @Test
  void aRunWhoseMovingStatisticsKeptUpPassesEveryCheck() throws Exception {
    // One step per epoch over the whole set, small steps, decay 0.5: the moving statistics
    // converge to the population of the very samples the doctor measures on.
    final RunConfig c =
        config(
            Map.of(
                "training.batchSize", "64",
                "training.epochs", "12",
                "training.optimizer.lr", "0.02",
                "bn.decay", "0.5"));
    final Report report = Doctor.examine(evidence(c, train(c)), "healthy", null);
    for (final Finding f : report.findings()) {
      assertEquals(Severity.OK, f.severity(), f.toString());
    }
    assertEquals(0, report.exitCode());
  }

  @Test
  void trainingModeGroupsSamplesAsTheTowersDo() {
    // SyncBN over 4 towers normalizes each global batch as one tower does; local BN on 4
    // towers (shards of 4) does not: the negative control.
    final Metrics one = evidence(lagging, laggingModel).measurements().training();
    final Metrics sync =
        evidence(config(Map.of("towers", "4", "bn.sync", "true")), laggingModel)
            .measurements()
            .training();
    final Metrics local =
        evidence(config(Map.of("towers", "4")), laggingModel).measurements().training();
    assertEquals(one.loss(), sync.loss(), 1e-12);
    assertEquals(one.accuracy(), sync.accuracy());
    assertNotEquals(one.loss(), local.loss(), 1e-6);
  }

  @Test
  void smallStatisticGroupsSuggestTheSmallestSyncGroupThatReachesEight() {
    final RunConfig c = config(Map.of("towers", "4", "training.batchSize", "8"));
    final Finding f = new SmallBatchCheck().examine(evidence(c, Replicas.newModel(c, DATA)));
    assertEquals(Severity.WARN, f.severity());
    assertTrue(f.measured().contains("shard of 2 samples"), f.measured());
    // 8 samples over 4 towers: groups of 2 towers have 4 samples, all 4 towers 8.
    assertEquals(
        List.of(
            List.of("bn.sync: true, bn.syncGroupSize: 2", "4 samples", "2 towers per all-reduce"),
            List.of("bn.sync: true", "8 samples", "4 towers per all-reduce")),
        f.details().rows());
    assertEquals("set bn.sync: true (groups of 8 samples)", f.fix());

    final RunConfig oneTower = config(Map.of("training.batchSize", "8"));
    assertEquals(
        Severity.OK, new SmallBatchCheck().examine(evidence(oneTower, laggingModel)).severity());
  }

  @Test
  void aSingleSamplePerGroupBeforeADenseBnIsAProblem() {
    final RunConfig c = config(Map.of("towers", "4", "training.batchSize", "4"));
    final Finding f = new SmallBatchCheck().examine(evidence(c, laggingModel));
    assertEquals(Severity.PROBLEM, f.severity(), f.toString());
    assertTrue(f.fix().contains("training.batchSize to at least 8"), f.fix());
  }

  @Test
  void anAdadeltaConfigWithoutLrIsToldTheFrameworksDefaults() {
    final RunConfig defaulted = config(Map.of("training.optimizer", "{type: adadelta}"));
    final Finding f = new FrameworkDefaultsCheck().examine(evidence(defaulted, laggingModel));
    assertEquals(Severity.WARN, f.severity());
    assertTrue(
        f.measured().contains("training.optimizer.lr defaulted to 1.0 (adadelta)")
            && f.measured().contains("TF 2.x 0.001"),
        f.measured());
    // The run directory's config.yaml is the resolved config, read back: still known.
    final RunConfig readBack =
        ConfigLoader.parse(ConfigLoader.toYaml(defaulted), "config.yaml", Map.of());
    assertEquals(
        Severity.WARN,
        new FrameworkDefaultsCheck().examine(evidence(readBack, laggingModel)).severity());

    final RunConfig explicit =
        config(Map.of("training.optimizer", "{type: adadelta, lr: 1.0}", "bn.epsilon", "0.001"));
    final Finding none = new FrameworkDefaultsCheck().examine(evidence(explicit, laggingModel));
    assertEquals(Severity.OK, none.severity());
    assertTrue(
        none.details().rows().stream().noneMatch(r -> r.get(0).equals("training.optimizer.lr")),
        none.details().toString());
  }

  @Test
  void aRunNearChanceIsToldSoNextToTheDefaultedLearningRate() {
    final RunConfig c = config(Map.of("training.optimizer", "{type: adadelta}"));
    final EpochRecord nearChance =
        new EpochRecord(1, 12, 1.38, 0.26, 0.26, Double.NaN, Double.NaN, Double.NaN, 1, 100, 1);
    final Evidence e = new Evidence(c, laggingModel, DATA, List.of(nearChance), 64, Progress.NONE);
    final Finding f = new FrameworkDefaultsCheck().examine(e);
    assertTrue(f.measured().contains("train acc 26.0% (chance 25.0%)"), f.measured());
  }
}
