package io.synctower.common.checkpoint;

import static io.synctower.common.checkpoint.TestModels.tensor;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.synctower.common.data.NpyArray;
import io.synctower.common.nn.Dense;
import io.synctower.common.nn.GlobalAvgPool;
import io.synctower.common.nn.Model;
import io.synctower.common.nn.ParamSpec;
import io.synctower.common.nn.Shape;
import io.synctower.common.nn.StepContext;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A dense layer after global average pooling (torchvision ResNet's {@code fc}) takes PyTorch's
 * {@code [out, in]} and Keras' {@code [in, out]} kernels as plain matrices: the pooled features are
 * one per channel, in the same order in every framework, so none of the image permutation a dense
 * layer after a {@code Flatten} gets applies.
 */
class GlobalAvgPoolWeightsTest {
  private static final DataType F64 = DataType.DOUBLE;
  private static final int H = 2;
  private static final int W = 3;
  private static final int C = 4;
  private static final int UNITS = 5;

  private static double[] noise(final int n, final long seed) {
    final SplittableRandom rng = new SplittableRandom(seed);
    final double[] v = new double[n];
    for (int i = 0; i < n; i++) {
      v[i] = rng.nextDouble() * 2 - 1;
    }
    return v;
  }

  private static Model poolDense() {
    final GlobalAvgPool pool = new GlobalAvgPool("avgpool", Shape.image(H, W, C), F64);
    final Model model =
        new Model(
            List.of(
                pool,
                new Dense(
                    "fc", pool.outputShape(), UNITS, true, true, ParamSpec.Init.HE_NORMAL, F64)),
            F64);
    model.initialize(1);
    return model;
  }

  /** y[o] = b[o] + sum_c mean_hw(x[h, w, c]) * weight(o, c), x NHWC. */
  private static void assertComputes(
      final Model model, final WeightAt weight, final double[] bias) {
    final double[] x = noise(H * W * C, 4);
    final INDArray y =
        model.forward(Nd4j.create(x, new long[] {1, H, W, C}, F64), StepContext.inference());
    for (int o = 0; o < UNITS; o++) {
      double expected = bias[o];
      for (int c = 0; c < C; c++) {
        double mean = 0;
        for (int p = 0; p < H * W; p++) {
          mean += x[p * C + c];
        }
        expected += mean / (H * W) * weight.at(o, c);
      }
      assertEquals(expected, y.getDouble(0, o), 1e-12);
    }
  }

  private interface WeightAt {
    double at(int out, int in);
  }

  @ParameterizedTest
  @EnumSource(WeightLayout.class)
  void shouldLoadTheDenseKernelAfterGlobalPoolingAsAPlainMatrix(final WeightLayout layout) {
    final double[] kernel = noise(C * UNITS, 2);
    final double[] bias = noise(UNITS, 3);
    final boolean keras = layout == WeightLayout.KERAS;
    final Model model = poolDense();

    WeightsFile.load(
        model,
        Map.of(
            keras ? "fc.kernel" : "fc.weight",
            keras
                ? NpyArray.ofDoubles(kernel, C, UNITS) // Keras [in, out]
                : NpyArray.ofDoubles(kernel, UNITS, C), // PyTorch [out, in]
            "fc.bias",
            NpyArray.ofDoubles(bias, UNITS)),
        layout,
        ImportOptions.DEFAULTS,
        layout.name());

    final WeightAt file = keras ? (o, c) -> kernel[c * UNITS + o] : (o, c) -> kernel[o * C + c];
    final INDArray weight = tensor(model, "fc.weight").value();
    for (int o = 0; o < UNITS; o++) {
      for (int c = 0; c < C; c++) {
        assertEquals(file.at(o, c), weight.getDouble(o, c), 0.0);
      }
    }
    assertComputes(model, file, bias);
  }

  @Test
  void shouldMapTheDenseKernelWithoutAnImagePermutation() {
    final Model model = poolDense();
    final int fc = 1;
    assertEquals(java.util.Optional.empty(), WeightLayout.flattenedImageBefore(model.layers(), fc));
  }
}
