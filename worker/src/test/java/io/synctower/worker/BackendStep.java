package io.synctower.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.synctower.common.nn.BnTraining;
import io.synctower.common.nn.Model;
import io.synctower.common.nn.SoftmaxCrossEntropy;
import io.synctower.common.nn.StatsReducer;
import io.synctower.common.nn.StepContext;
import io.synctower.common.optim.OptimizerSpec;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * One float64 training step of {@link TowerHarness#model} (conv, BN, ReLU, max-pool, dropout,
 * dense, BN, softmax cross-entropy, SGD) on whichever ND4J backend this JVM loaded, from inputs
 * made by Java's own RNG (ND4J's RNG differs between backends). It passes every host-memory path a
 * step has: the input batch, the dropout mask, the BN statistics (Vectors) and the loss gradient.
 *
 * <p>ND4J loads one backend per JVM, so the CPU result is kept as a reference file made on the CPU
 * backend ({@link #REFERENCE}); {@code CpuStepReferenceTest} checks in every default build that it
 * is still what the CPU computes, and {@code GpuStepTest} ({@code -Pcuda}) compares the GPU with
 * it. Regenerate after a deliberate model change with {@code mvn -o -pl worker -am test
 * -Dtest=CpuStepReferenceTest -Dsurefire.failIfNoSpecifiedTests=false
 * -Dsynctower.writeStepReference=worker/src/test/resources/io/synctower/worker/cpu-step-reference.txt}
 * (path relative to the worker module, or absolute).
 */
final class BackendStep {
  static final String REFERENCE = "cpu-step-reference.txt";
  static final int BATCH = 8;

  private BackendStep() {}

  /** The loss, then every parameter, then every moving statistic after the step. */
  static double[] run() {
    final Model m = TowerHarness.model(false);
    final Tower tower =
        new Tower(
            m,
            new SoftmaxCrossEntropy(1, TowerHarness.CLASSES, DataType.DOUBLE),
            OptimizerSpec.sgd(0.05).create(m.parameters(), m.trainableRanges()));
    final Random rng = new Random(42);
    final double[] values = new double[BATCH * (int) TowerHarness.INPUT.elementCount()];
    for (int i = 0; i < values.length; i++) {
      values[i] = rng.nextGaussian() * 1.5 + 0.7;
    }
    final INDArray x =
        Nd4j.createFromArray(values)
            .reshape(
                BATCH,
                TowerHarness.INPUT.dim(0),
                TowerHarness.INPUT.dim(1),
                TowerHarness.INPUT.dim(2));
    final int[] labels = new int[BATCH];
    for (int i = 0; i < BATCH; i++) {
      labels[i] = rng.nextInt(TowerHarness.CLASSES);
    }
    final StepContext ctx =
        new StepContext(true, BnTraining.LOCAL, 0, StatsReducer.LOCAL, 5, 0, 0, 0).at(0, 0, BATCH);
    return lossParametersState(tower.trainStep(x, labels, ctx, 0.05).metrics().lossSum(), m);
  }

  /** {@code loss}, then every parameter of {@code m}, then every moving statistic, in one array. */
  static double[] lossParametersState(final double loss, final Model m) {
    final double[] params = m.parameters().toDoubleVector();
    final double[] state = m.state().toDoubleVector();
    final double[] out = new double[1 + params.length + state.length];
    out[0] = loss;
    System.arraycopy(params, 0, out, 1, params.length);
    System.arraycopy(state, 0, out, 1 + params.length, state.length);
    return out;
  }

  static double[] reference() throws IOException {
    try (InputStream in = BackendStep.class.getResourceAsStream(REFERENCE)) {
      if (in == null) {
        throw new IOException(REFERENCE + " missing from the test resources");
      }
      final List<Double> values = new ArrayList<>();
      for (final String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
        if (!line.isBlank() && !line.startsWith("#")) {
          values.add(Double.parseDouble(line.trim()));
        }
      }
      return values.stream().mapToDouble(Double::doubleValue).toArray();
    }
  }

  static void write(final double[] values, final Path file) throws IOException {
    final StringBuilder s =
        new StringBuilder(
            "# One float64 training step on the CPU backend (BackendStep): loss, parameters,"
                + " moving statistics.\n");
    for (final double v : values) {
      s.append(v).append('\n');
    }
    Files.writeString(file, s.toString());
  }

  /** Each value within {@code tolerance * max(1, |reference|)}, naming the first that is not. */
  static void assertClose(final double[] reference, final double[] actual, final double tolerance) {
    assertEquals(reference.length, actual.length, "values in the step (loss + parameters + state)");
    for (int i = 0; i < reference.length; i++) {
      final double allowed = tolerance * Math.max(1, Math.abs(reference[i]));
      if (!(Math.abs(reference[i] - actual[i]) <= allowed)) {
        assertEquals(
            reference[i],
            actual[i],
            allowed,
            "value "
                + i
                + (i == 0 ? " (the loss)" : "")
                + " differs from the CPU reference by more than "
                + tolerance);
      }
    }
  }
}
