package io.synctower.coordinator.doctor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.bn.BatchNorm;
import io.synctower.common.config.ConfigLoader;
import io.synctower.common.config.RunConfig;
import io.synctower.common.data.BatchAssembler;
import io.synctower.common.data.EpochPermutation;
import io.synctower.common.nn.Model;
import io.synctower.common.nn.StepContext;
import io.synctower.worker.assembly.Replicas;
import io.synctower.worker.assembly.TrainingData;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The BN doctor on a residual model: it measures every BN layer of both branches (the population
 * statistics of the first BN of each branch against those computed here from its input), and the
 * frozen-layers check reads the flat model, naming layers inside blocks by their full names.
 */
class ResidualDoctorTest {
  private static final TrainingData DATA = new TrainingData(new Blobs(32), null, null);

  private static RunConfig config(final String block) {
    return ConfigLoader.parse(
        """
        name: residual
        seed: 3
        model:
          dtype: float64
          layers:
        %s
            - {type: flatten}
            - {type: dropout, rate: 0.3}
            - {type: dense, units: 4}
        data:
          train: {type: overfit, size: 32}
          validationSplit: 0
        training:
          batchSize: 8
          optimizer: {type: sgd, lr: 0.1}
        doctor: false
        """
            .formatted(block.indent(4).stripTrailing()),
        "residual",
        Map.of());
  }

  private static final String BLOCK =
      """
      - type: residual
        name: layer1.0
        layers:
          - {type: conv2d, filters: 2, kernel: 3, padding: same, bias: false}
          - {type: batchnorm}
          - {type: relu}
          - {type: dropout, rate: 0.2}
          - {type: conv2d, filters: 2, kernel: 3, padding: same, bias: false}
          - {type: batchnorm}
        shortcut:
          - {type: conv2d, filters: 2, kernel: 1, stride: 1, bias: false}
          - {type: batchnorm}
      """;

  @Test
  void theDoctorShouldMeasureEveryBnOfBothBranchesAgainstItsInputsPopulation() {
    final RunConfig c = config(BLOCK);
    final Model model = Replicas.newModel(c, DATA);
    final Evidence evidence = new Evidence(c, model, DATA, List.of(), 32, Progress.NONE);
    final Measurements m = evidence.measurements();
    final List<BatchNorm> bns = BatchNorm.layersOf(model);
    assertEquals(
        List.of("layer1.0.bn1", "layer1.0.bn2", "layer1.0.downsample.1"),
        m.layers().stream().map(LayerStatistics::name).toList());

    final int[] order = EpochPermutation.of(c.seed(), 0, DATA.train().size());
    final BatchAssembler assembler = new BatchAssembler(DATA.train(), null);
    final INDArray x = assembler.allocate(DataType.DOUBLE, 32);
    assembler.fill(order, 0, 32, x, new int[32]);
    final Model probe = evidence.copyWithoutDropout();
    probe.forward(x, StepContext.inference());
    // bn1 (main branch) and downsample.1 (shortcut) see inputs that no BN layer before them
    // shapes, so the inference-mode probe gives their population whatever the doctor's BN mode;
    // bn2's input depends on how bn1 normalized (batch or moving statistics).
    for (final int k : new int[] {0, 2}) {
      final int index = model.layers().indexOf(bns.get(k));
      // The BN's input is the previous layer of the flat list, in either branch.
      final INDArray in = probe.lastOutputs().get(index - 1);
      final double[][] rows = in.reshape('c', -1, in.size(3)).toDoubleMatrix();
      final double[][] pop = population(rows);
      assertArrayEquals(pop[0], m.layers().get(k).populationMean(), 1e-10, bns.get(k).name());
      assertArrayEquals(pop[1], m.layers().get(k).populationVar(), 1e-10, bns.get(k).name());
    }
    // Every check runs on the flat model.
    assertEquals(5, Doctor.examine(evidence, "residual", null).findings().size());
  }

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

  @Test
  void aTrainableBnInsideAFrozenBlockShouldBeNamedByItsFullName() {
    final RunConfig c =
        config(
            """
            - type: residual
              name: layer1.0
              layers:
                - {type: conv2d, filters: 2, kernel: 3, padding: same, trainable: false}
                - {type: batchnorm}
                - {type: relu}
                - {type: conv2d, filters: 2, kernel: 3, padding: same, trainable: false}
                - {type: batchnorm, trainable: false}
              shortcut:
                - {type: conv2d, filters: 2, kernel: 1, trainable: false}
                - {type: batchnorm, trainable: false}
            """);
    final Model model = Replicas.newModel(c, DATA);
    for (final String bn : List.of("layer1.0.bn2", "layer1.0.downsample.1")) {
      model.tensor(bn + ".running_mean").assign(0.25);
    }
    final Finding f =
        new FrozenLayersCheck().examine(new Evidence(c, model, DATA, List.of(), 8, Progress.NONE));
    assertEquals(Severity.WARN, f.severity(), f.toString());
    assertTrue(
        f.measured()
            .startsWith(
                "layer1.0.bn1 trainable inside a frozen backbone (layer1.0.conv1,"
                    + " layer1.0.conv2, layer1.0.downsample.0 frozen)"),
        f.measured());
    assertEquals(
        "set trainable: false on layer1.0.bn1 (or add them to model.frozen: a preset's layers take no"
            + " per-layer keys)",
        f.fix());
  }
}
