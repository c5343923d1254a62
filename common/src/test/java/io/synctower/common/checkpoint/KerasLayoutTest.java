package io.synctower.common.checkpoint;

import static io.synctower.common.checkpoint.TestModels.host;
import static io.synctower.common.checkpoint.TestModels.tensor;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.synctower.common.bn.BatchNorm;
import io.synctower.common.data.NpyArray;
import io.synctower.common.data.Npz;
import io.synctower.common.nn.Dense;
import io.synctower.common.nn.Dropout;
import io.synctower.common.nn.Flatten;
import io.synctower.common.nn.Model;
import io.synctower.common.nn.ParamSpec;
import io.synctower.common.nn.Shape;
import io.synctower.common.nn.StepContext;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class KerasLayoutTest {
  private static final DataType F64 = DataType.DOUBLE;
  private static final int H = 2;
  private static final int W = 3;
  private static final int C = 4;
  private static final int UNITS = 5;
  private static final Shape IMAGE = Shape.image(H, W, C);

  @TempDir Path dir;

  /** Keras' flatten index of NHWC element (h, w, c): row-major over (H, W, C). */
  private static int kerasRow(final int h, final int w, final int c) {
    return (h * W + w) * C + c;
  }

  /** Our flatten index of the same element: (C, H, W) like PyTorch. */
  private static int ourColumn(final int h, final int w, final int c) {
    return (c * H + h) * W + w;
  }

  private static double[] noise(final int n, final long seed) {
    final SplittableRandom rng = new SplittableRandom(seed);
    final double[] v = new double[n];
    for (int i = 0; i < n; i++) {
      v[i] = rng.nextDouble() * 2 - 1;
    }
    return v;
  }

  private static Model flattenDense() {
    final Flatten flat = new Flatten("flat", IMAGE, F64);
    final Model model =
        new Model(
            List.of(
                flat,
                new Dense(
                    "fc", flat.outputShape(), UNITS, true, true, ParamSpec.Init.HE_NORMAL, F64)),
            F64);
    model.initialize(1);
    return model;
  }

  @Test
  void shouldPermuteDenseKernelRowsAfterAFlattenFromKerasHwcToOurChwOrder() {
    final double[] kernel = noise(H * W * C * UNITS, 2); // Keras [in, out], rows in (H,W,C) order
    final double[] bias = noise(UNITS, 3);
    final Model model = flattenDense();

    WeightsFile.load(
        model,
        Map.of(
            "fc.kernel", NpyArray.ofDoubles(kernel, H * W * C, UNITS),
            "fc.bias", NpyArray.ofDoubles(bias, UNITS)),
        WeightLayout.KERAS,
        ImportOptions.DEFAULTS,
        "keras");

    final INDArray weight = tensor(model, "fc.weight").value(); // [out, in], in in (C,H,W) order
    for (int h = 0; h < H; h++) {
      for (int w = 0; w < W; w++) {
        for (int c = 0; c < C; c++) {
          for (int o = 0; o < UNITS; o++) {
            assertEquals(
                kernel[kerasRow(h, w, c) * UNITS + o],
                weight.getDouble(o, ourColumn(h, w, c)),
                0.0);
          }
        }
      }
    }

    // What Keras computes: y = flatten_hwc(x) . K + b, with x NHWC.
    final double[] x = noise(H * W * C, 4);
    final INDArray y =
        model.forward(Nd4j.create(x, new long[] {1, H, W, C}, F64), StepContext.inference());
    for (int o = 0; o < UNITS; o++) {
      double expected = bias[o];
      for (int r = 0; r < H * W * C; r++) {
        expected += x[r] * kernel[r * UNITS + o]; // x in NHWC C-order is already (H,W,C)-flat
      }
      assertEquals(expected, y.getDouble(0, o), 1e-12);
    }
  }

  @Test
  void shouldTransposeADenseKernelWhoseInputIsNotAFlattenedImage() {
    final Dense d1 =
        new Dense("d1", Shape.flat(4), 3, false, true, ParamSpec.Init.GLOROT_UNIFORM, F64);
    final Dense d2 =
        new Dense("d2", d1.outputShape(), 2, false, true, ParamSpec.Init.GLOROT_UNIFORM, F64);
    final Model model = new Model(List.of(d1, d2), F64);
    model.initialize(1);
    final double[] k1 = noise(4 * 3, 5);
    final double[] k2 = noise(3 * 2, 6);

    WeightsFile.load(
        model,
        Map.of(
            "d1.kernel", NpyArray.ofDoubles(k1, 4, 3),
            "d2.kernel", NpyArray.ofDoubles(k2, 3, 2)),
        WeightLayout.KERAS,
        ImportOptions.DEFAULTS,
        "keras");

    final INDArray w1 = tensor(model, "d1.weight").value();
    for (int i = 0; i < 4; i++) {
      for (int o = 0; o < 3; o++) {
        assertEquals(k1[i * 3 + o], w1.getDouble(o, i), 0.0);
      }
    }
    final INDArray w2 = tensor(model, "d2.weight").value();
    for (int i = 0; i < 3; i++) {
      for (int o = 0; o < 2; o++) {
        assertEquals(k2[i * 2 + o], w2.getDouble(o, i), 0.0);
      }
    }
  }

  @Test
  void shouldPermuteAVectorBatchNormAndTheDenseBehindItThroughDropout() {
    final Flatten flat = new Flatten("flat", IMAGE, F64);
    final BatchNorm bn = new BatchNorm("bnf", flat.outputShape(), 0.9, 1e-3, true, F64);
    final Dropout drop = new Dropout("drop", bn.outputShape(), 0.5, 2, F64);
    final Dense fc =
        new Dense("fc", drop.outputShape(), UNITS, false, true, ParamSpec.Init.HE_NORMAL, F64);
    final Model model = new Model(List.of(flat, bn, drop, fc), F64);
    model.initialize(1);
    final int n = H * W * C;
    final Map<String, NpyArray> arrays = new LinkedHashMap<>();
    final double[] movingMean = noise(n, 7); // Keras order (H,W,C)
    final double[] kernel = noise(n * UNITS, 8);
    arrays.put("bnf.gamma", NpyArray.ofDoubles(noise(n, 9), n));
    arrays.put("bnf.beta", NpyArray.ofDoubles(noise(n, 10), n));
    arrays.put("bnf.moving_mean", NpyArray.ofDoubles(movingMean, n));
    // Variances are >= 0 (a negative one is refused on import), so the noise is shifted up.
    final double[] movingVariance = noise(n, 11);
    for (int i = 0; i < n; i++) {
      movingVariance[i] += 1;
    }
    arrays.put("bnf.moving_variance", NpyArray.ofDoubles(movingVariance, n));
    arrays.put("fc.kernel", NpyArray.ofDoubles(kernel, n, UNITS));

    WeightsFile.load(model, arrays, WeightLayout.KERAS, ImportOptions.DEFAULTS, "keras");

    final double[] ourMean = host(tensor(model, "bnf.running_mean").flat());
    final INDArray weight = tensor(model, "fc.weight").value();
    for (int h = 0; h < H; h++) {
      for (int w = 0; w < W; w++) {
        for (int c = 0; c < C; c++) {
          assertEquals(movingMean[kerasRow(h, w, c)], ourMean[ourColumn(h, w, c)], 0.0);
          assertEquals(
              kernel[kerasRow(h, w, c) * UNITS + 3], weight.getDouble(3, ourColumn(h, w, c)), 0.0);
        }
      }
    }
  }

  @ParameterizedTest
  @EnumSource(
      value = DataType.class,
      names = {"FLOAT", "DOUBLE"})
  void shouldRoundTripKerasNamesAndLayoutBitExactly(final DataType dtype) {
    final Model source = TestModels.small(dtype, 1);
    TestModels.randomize(source, 12);
    final Path file = dir.resolve("keras.npz");
    WeightsFile.save(source, file, WeightLayout.KERAS);
    final Map<String, NpyArray> arrays = Npz.read(file);
    assertEquals(
        List.of(
            "conv1.kernel",
            "conv1.bias",
            "bn1.gamma",
            "bn1.beta",
            "bn1.moving_mean",
            "bn1.moving_variance",
            "fc.kernel",
            "fc.bias",
            "bn2.gamma",
            "bn2.beta",
            "bn2.moving_mean",
            "bn2.moving_variance"),
        List.copyOf(arrays.keySet()));
    // Keras conv kernels are [kH, kW, in, out], the internal layout: copied as is.
    assertArrayEquals(new long[] {3, 3, 2, 3}, arrays.get("conv1.kernel").shape());
    assertArrayEquals(
        host(tensor(source, "conv1.weight").flat()), arrays.get("conv1.kernel").toDoubleArray());
    assertArrayEquals(new long[] {48, 5}, arrays.get("fc.kernel").shape());

    final Model target = TestModels.small(dtype, 2);
    assertFalse(Arrays.equals(host(source.parameters()), host(target.parameters())));
    WeightsFile.load(target, file, WeightLayout.KERAS);

    assertArrayEquals(host(source.parameters()), host(target.parameters()));
    assertArrayEquals(host(source.state()), host(target.state()));
  }
}
