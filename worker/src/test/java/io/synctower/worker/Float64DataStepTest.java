package io.synctower.worker;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.data.BatchAssembler;
import io.synctower.common.data.Normalization;
import io.synctower.common.data.NpyArray;
import io.synctower.common.data.Npz;
import io.synctower.common.data.NpzDataset;
import io.synctower.common.nn.BnTraining;
import io.synctower.common.nn.Model;
import io.synctower.common.nn.SoftmaxCrossEntropy;
import io.synctower.common.nn.StatsReducer;
import io.synctower.common.nn.StepContext;
import io.synctower.common.optim.OptimizerSpec;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A float64 model trained on float64 data sees that data unrounded: one training step on a batch
 * read from a float64 {@code .npz} through the data path (NpzDataset, BatchAssembler) equals, bit
 * for bit, the same step on a batch built directly from the same doubles. Before the data path kept
 * float64, the inputs passed through float32 and the step differed by about 1e-9.
 */
class Float64DataStepTest {
  private static final int N = 8;
  private static final int H = (int) TowerHarness.INPUT.dim(0);
  private static final int W = (int) TowerHarness.INPUT.dim(1);
  private static final int C = (int) TowerHarness.INPUT.dim(2);

  @Test
  void aStepOnFloat64FileDataEqualsTheStepOnTheSameDoubles(@TempDir final Path dir) {
    final Random rng = new Random(7);
    final double[] nhwc = new double[N * H * W * C];
    boolean unrepresentable = false;
    for (int i = 0; i < nhwc.length; i++) {
      nhwc[i] = rng.nextGaussian() * 1.5 + 0.7;
      unrepresentable |= (double) (float) nhwc[i] != nhwc[i];
    }
    assertTrue(unrepresentable, "the data must need more than float32 for this test to mean much");
    final int[] labels = new int[N];
    for (int i = 0; i < N; i++) {
      labels[i] = rng.nextInt(TowerHarness.CLASSES);
    }
    final Path file = writeNchw(dir.resolve("d.npz"), nhwc, labels);

    final INDArray direct = Nd4j.createFromArray(nhwc).reshape(N, H, W, C);
    final NpzDataset data = new NpzDataset(file, TowerHarness.CLASSES);
    assertTrue(data.holdsFloat64());
    final INDArray fromFile = filled(data, null);

    assertArrayEquals(step(direct, labels), step(fromFile, labels));
  }

  @Test
  void normalizationRunsInDoubleOnFloat64Data(@TempDir final Path dir) {
    final double[] nhwc = new double[N * H * W * C];
    final Random rng = new Random(9);
    for (int i = 0; i < nhwc.length; i++) {
      nhwc[i] = rng.nextGaussian();
    }
    final Path file = writeNchw(dir.resolve("d.npz"), nhwc, new int[N]);
    final float[] mean = {0.25f, -0.5f};
    final float[] std = {1.5f, 0.75f};
    final INDArray x =
        filled(new NpzDataset(file, TowerHarness.CLASSES), new Normalization(mean, std));
    final double[] got = x.data().asDouble();
    for (int i = 0; i < nhwc.length; i++) {
      final int c = i % C;
      final double expected = (nhwc[i] - (double) mean[c]) / (double) std[c];
      if (got[i] != expected) {
        assertArrayEquals(new double[] {expected}, new double[] {got[i]}, "value " + i);
      }
    }
  }

  @Test
  void float32FilesAndFloatModelsKeepTheFloat32Path(@TempDir final Path dir) {
    final float[] values = new float[N * C * H * W];
    for (int i = 0; i < values.length; i++) {
      values[i] = i / 7f;
    }
    final Map<String, NpyArray> arrays = new LinkedHashMap<>();
    arrays.put("x", NpyArray.ofFloats(values, N, C, H, W));
    arrays.put("y", NpyArray.ofInts(new int[N], N));
    final Path file = dir.resolve("f.npz");
    Npz.write(file, arrays, false);
    assertFalse(new NpzDataset(file, TowerHarness.CLASSES).holdsFloat64());
  }

  /** Writes {@code nhwc} as a PyTorch-layout (N, C, H, W) float64 x and int labels y. */
  private static Path writeNchw(final Path file, final double[] nhwc, final int[] labels) {
    final double[] nchw = new double[nhwc.length];
    for (int n = 0; n < N; n++) {
      for (int h = 0; h < H; h++) {
        for (int w = 0; w < W; w++) {
          for (int c = 0; c < C; c++) {
            nchw[((n * C + c) * H + h) * W + w] = nhwc[((n * H + h) * W + w) * C + c];
          }
        }
      }
    }
    final Map<String, NpyArray> arrays = new LinkedHashMap<>();
    arrays.put("x", NpyArray.ofDoubles(nchw, N, C, H, W));
    arrays.put("y", NpyArray.ofInts(labels, N));
    Npz.write(file, arrays, false);
    return file;
  }

  /** The whole dataset as one DOUBLE batch, through the data path a tower uses. */
  private static INDArray filled(final NpzDataset data, final Normalization normalization) {
    final BatchAssembler assembler = new BatchAssembler(data, normalization);
    final INDArray x = assembler.allocate(DataType.DOUBLE, N);
    final int[] order = new int[N];
    for (int i = 0; i < N; i++) {
      order[i] = i;
    }
    assembler.fill(order, 0, N, x, new int[N]);
    return x;
  }

  /** The loss, parameters and moving statistics after one SGD step of a fresh float64 model. */
  private static double[] step(final INDArray x, final int[] labels) {
    final Model m = TowerHarness.model(false);
    final Tower tower =
        new Tower(
            m,
            new SoftmaxCrossEntropy(1, TowerHarness.CLASSES, DataType.DOUBLE),
            OptimizerSpec.sgd(0.05).create(m.parameters(), m.trainableRanges()));
    final StepContext ctx =
        new StepContext(true, BnTraining.LOCAL, 0, StatsReducer.LOCAL, 5, 0, 0, 0).at(0, 0, N);
    return BackendStep.lossParametersState(
        tower.trainStep(x, labels, ctx, 0.05).metrics().lossSum(), m);
  }
}
