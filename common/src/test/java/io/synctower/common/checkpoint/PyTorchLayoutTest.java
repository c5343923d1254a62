package io.synctower.common.checkpoint;

import static io.synctower.common.checkpoint.TestModels.host;
import static io.synctower.common.checkpoint.TestModels.tensor;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.synctower.common.data.NpyArray;
import io.synctower.common.data.NpyDtype;
import io.synctower.common.data.Npz;
import io.synctower.common.nn.Model;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

class PyTorchLayoutTest {
  private static final List<String> KEYS =
      List.of(
          "conv1.weight",
          "conv1.bias",
          "bn1.weight",
          "bn1.bias",
          "bn1.running_mean",
          "bn1.running_var",
          "fc.weight",
          "fc.bias",
          "bn2.weight",
          "bn2.bias",
          "bn2.running_mean",
          "bn2.running_var");

  @TempDir Path dir;

  @ParameterizedTest
  @EnumSource(
      value = DataType.class,
      names = {"FLOAT", "DOUBLE"})
  void shouldRoundTripBitExactlyIntoAModelInitializedWithAnotherSeed(final DataType dtype) {
    final Model source = TestModels.small(dtype, 1);
    TestModels.randomize(source, 11);
    final Path file = dir.resolve("w.npz");
    WeightsFile.save(source, file, WeightLayout.PYTORCH);

    final Model target = TestModels.small(dtype, 2);
    // Negative control: before the load the buffers differ.
    assertFalse(Arrays.equals(host(source.parameters()), host(target.parameters())));
    assertFalse(Arrays.equals(host(source.state()), host(target.state())));

    final ImportReport report = WeightsFile.load(target, file, WeightLayout.PYTORCH);

    assertArrayEquals(host(source.parameters()), host(target.parameters()));
    assertArrayEquals(host(source.state()), host(target.state()));
    assertEquals(KEYS, report.loaded());
    assertEquals(List.of(), report.missing());
    assertEquals(List.of("bn1.num_batches_tracked", "bn2.num_batches_tracked"), report.ignored());
  }

  @ParameterizedTest
  @EnumSource(
      value = DataType.class,
      names = {"FLOAT", "DOUBLE"})
  void shouldWritePyTorchNamesShapesAndTheModelsDtype(final DataType dtype) {
    final Path file = dir.resolve("w.npz");
    WeightsFile.save(TestModels.small(dtype, 1), file, WeightLayout.PYTORCH);
    final Map<String, NpyArray> arrays = Npz.read(file);

    // torchvision's state_dict order: each BN's counter after its four tensors.
    final List<String> written = new java.util.ArrayList<>(KEYS);
    written.add(6, "bn1.num_batches_tracked");
    written.add("bn2.num_batches_tracked");
    assertEquals(written, List.copyOf(arrays.keySet()));
    final NpyDtype expected = dtype == DataType.FLOAT ? NpyDtype.FLOAT32 : NpyDtype.FLOAT64;
    for (final String key : KEYS) {
      assertEquals(expected, arrays.get(key).dtype(), key);
    }
    for (final String counter : List.of("bn1.num_batches_tracked", "bn2.num_batches_tracked")) {
      assertEquals(NpyDtype.INT64, arrays.get(counter).dtype(), counter);
      assertArrayEquals(new long[0], arrays.get(counter).shape(), counter);
      assertArrayEquals(new long[] {0}, arrays.get(counter).toLongArray(), counter);
    }
    assertArrayEquals(new long[] {3, 2, 3, 3}, arrays.get("conv1.weight").shape());
    assertArrayEquals(new long[] {5, 48}, arrays.get("fc.weight").shape());
    assertArrayEquals(new long[] {3}, arrays.get("bn1.running_var").shape());
  }

  @Test
  void shouldWriteConvWeightsAsOutInKhKw() {
    final Model model = TestModels.small(DataType.DOUBLE, 4);
    final Map<String, NpyArray> arrays = WeightsFile.toArrays(model, WeightLayout.PYTORCH);
    final double[] file = arrays.get("conv1.weight").toDoubleArray();
    final INDArray internal = tensor(model, "conv1.weight").value(); // [kH, kW, in, out]
    for (int o = 0; o < 3; o++) {
      for (int i = 0; i < 2; i++) {
        for (int kh = 0; kh < 3; kh++) {
          for (int kw = 0; kw < 3; kw++) {
            final int at = ((o * 2 + i) * 3 + kh) * 3 + kw;
            assertEquals(internal.getDouble(kh, kw, i, o), file[at], 0.0);
          }
        }
      }
    }
  }

  /** A state_dict as PyTorch would save it, values chosen so every position is recognizable. */
  private static Map<String, NpyArray> handBuiltStateDict(final NpyDtype dtype) {
    final Map<String, NpyArray> m = new LinkedHashMap<>();
    final double[] conv = new double[3 * 2 * 3 * 3];
    for (int o = 0; o < 3; o++) {
      for (int i = 0; i < 2; i++) {
        for (int kh = 0; kh < 3; kh++) {
          for (int kw = 0; kw < 3; kw++) {
            conv[((o * 2 + i) * 3 + kh) * 3 + kw] = 1000 * o + 100 * i + 10 * kh + kw;
          }
        }
      }
    }
    m.put("conv1.weight", array(dtype, conv, 3, 2, 3, 3));
    m.put("conv1.bias", array(dtype, ramp(3, 0.5), 3));
    m.put("bn1.weight", array(dtype, ramp(3, 1.5), 3));
    m.put("bn1.bias", array(dtype, ramp(3, -2), 3));
    m.put("bn1.running_mean", array(dtype, ramp(3, 7), 3));
    m.put("bn1.running_var", array(dtype, ramp(3, 9), 3));
    m.put("bn1.num_batches_tracked", NpyArray.ofLongs(new long[] {1234}));
    m.put("fc.weight", array(dtype, ramp(5 * 48, -100), 5, 48));
    m.put("fc.bias", array(dtype, ramp(5, 3), 5));
    m.put("bn2.weight", array(dtype, ramp(5, 11), 5));
    m.put("bn2.bias", array(dtype, ramp(5, 21), 5));
    m.put("bn2.running_mean", array(dtype, ramp(5, 31), 5));
    m.put("bn2.running_var", array(dtype, ramp(5, 41), 5));
    m.put("bn2.num_batches_tracked", NpyArray.ofLongs(new long[] {1234}));
    return m;
  }

  private static double[] ramp(final int n, final double start) {
    final double[] v = new double[n];
    for (int i = 0; i < n; i++) {
      v[i] = start + i;
    }
    return v;
  }

  private static NpyArray array(final NpyDtype dtype, final double[] v, final long... shape) {
    if (dtype == NpyDtype.FLOAT64) {
      return NpyArray.ofDoubles(v, shape);
    }
    final float[] f = new float[v.length];
    for (int i = 0; i < v.length; i++) {
      f[i] = (float) v[i];
    }
    return NpyArray.ofFloats(f, shape);
  }

  @ParameterizedTest
  @CsvSource({"FLOAT32, FLOAT", "FLOAT64, FLOAT", "FLOAT32, DOUBLE", "FLOAT64, DOUBLE"})
  void shouldLoadAHandBuiltOihwFileIgnoringNumBatchesTracked(
      final NpyDtype fileDtype, final DataType modelDtype) {
    final Path file = dir.resolve("state_dict.npz");
    Npz.write(file, handBuiltStateDict(fileDtype), true);
    final Model model = TestModels.small(modelDtype, 5);

    final ImportReport report = WeightsFile.load(model, file, WeightLayout.PYTORCH);

    assertEquals(KEYS, report.loaded());
    assertEquals(List.of("bn1.num_batches_tracked", "bn2.num_batches_tracked"), report.ignored());
    final INDArray conv = tensor(model, "conv1.weight").value(); // [kH, kW, in, out]
    // model[kh, kw, in, out] == file[out, in, kh, kw] = 1000 out + 100 in + 10 kh + kw
    assertEquals(0, conv.getDouble(0, 0, 0, 0), 0.0);
    assertEquals(1000, conv.getDouble(0, 0, 0, 1), 0.0);
    assertEquals(100, conv.getDouble(0, 0, 1, 0), 0.0);
    assertEquals(10, conv.getDouble(1, 0, 0, 0), 0.0);
    assertEquals(1, conv.getDouble(0, 1, 0, 0), 0.0);
    assertEquals(2122, conv.getDouble(2, 2, 1, 2), 0.0);
    assertEquals(1021, conv.getDouble(2, 1, 0, 1), 0.0);
    assertEquals(2112, conv.getDouble(1, 2, 1, 2), 0.0);
    // Dense [out, in] unchanged: fc.weight[o, j] = -100 + 48 o + j.
    final INDArray fc = tensor(model, "fc.weight").value();
    assertEquals(-100, fc.getDouble(0, 0), 0.0);
    assertEquals(-100 + 48 * 4 + 47, fc.getDouble(4, 47), 0.0);
    assertEquals(-100 + 48 * 2 + 13, fc.getDouble(2, 13), 0.0);
    assertArrayEquals(ramp(3, 7), host(tensor(model, "bn1.running_mean").flat()));
    assertArrayEquals(ramp(5, 41), host(tensor(model, "bn2.running_var").flat()));
    assertArrayEquals(ramp(5, 21), host(tensor(model, "bn2.bias").flat()));
  }
}
