package io.synctower.common.config;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import io.synctower.common.checkpoint.ImportReport;
import io.synctower.common.checkpoint.WeightLayout;
import io.synctower.common.checkpoint.WeightsFile;
import io.synctower.common.data.NpyArray;
import io.synctower.common.data.Npz;
import io.synctower.common.nn.Model;
import io.synctower.common.nn.Shape;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * A torchvision-named {@code .npz} loaded into a preset and exported again is the same file's
 * tensors: keys and their order, dtypes, shapes and bytes ({@code num_batches_tracked} written as
 * int64 0). Two sources: the float64 state_dicts torch itself wrote for the reference test ({@code
 * reference/resnet/<preset>-w<width>-weights.npz}, {@code make_resnet_reference.py}), and a float32
 * file in torchvision's key order and shapes as torchvision listed them ({@code
 * presets/resnet18-w8-c10.txt}, {@code make_preset_keys.py}) with seeded random values and a 0
 * counter after each BN's four tensors, where torchvision puts it.
 */
class PresetWeightsRoundTripTest {
  private static final String CONFIG =
      """
      model:
        dtype: %s
        preset: %s
        width: %d
        classes: 10
      data:
        train: {type: overfit, size: 10}
      """;

  @TempDir Path dir;

  @ParameterizedTest
  @ValueSource(strings = {"resnet18-w4", "resnet50-w2", "resnet20-w4"})
  void aStateDictTorchWroteLoadsIntoThePresetAndExportsByteForByte(final String reference)
      throws Exception {
    final String preset = reference.substring(0, reference.indexOf('-'));
    final int width = Integer.parseInt(reference.substring(reference.indexOf("-w") + 2));
    final Path input =
        Path.of(
            getClass()
                .getResource("/io/synctower/common/reference/resnet/" + reference + "-weights.npz")
                .toURI());
    final Map<String, NpyArray> file = Npz.read(input);
    final List<String> counters =
        file.keySet().stream().filter(k -> k.endsWith(".num_batches_tracked")).toList();
    // resnet18: 20 BN layers, resnet50: 53, resnet20: 21 (the stem's, 2 or 3 per block, and the
    // projection shortcuts').
    assertEquals(
        Map.of("resnet18", 20, "resnet50", 53, "resnet20", 21).get(preset), counters.size());

    final ImportReport report = roundTrip(input, preset, width, DataType.DOUBLE);

    assertEquals(counters, report.ignored());
    assertEquals(
        file.keySet().stream().filter(k -> !counters.contains(k)).toList(), report.loaded());
  }

  @ParameterizedTest
  @EnumSource(
      value = DataType.class,
      names = {"FLOAT", "DOUBLE"})
  void aTorchvisionStateDictLoadsIntoThePresetAndExportsByteForByte(final DataType dtype)
      throws Exception {
    final PresetKeys keys = PresetKeys.load("resnet18-w8-c10.txt");
    final Map<String, NpyArray> file = stateDict(keys, dtype == DataType.DOUBLE, 11);
    final Path input = dir.resolve("resnet18.npz");
    Npz.write(input, file, false);

    final ImportReport report = roundTrip(input, "resnet18", 8, dtype);

    final Map<String, NpyArray> read = Npz.read(input);
    // ResNet-18: 20 BN layers (bn1, 2 per block in 8 blocks, 3 projection shortcuts).
    final List<String> counters =
        read.keySet().stream().filter(k -> k.endsWith(".num_batches_tracked")).toList();
    assertEquals(20, counters.size());
    assertEquals(counters, report.ignored());
    assertEquals(keys.keys(), report.loaded());
  }

  /**
   * Loads {@code input} into {@code model.preset: preset} of {@code width} (10 classes) in {@code
   * dtype}, exports it and asserts the export is the input's tensors, byte for byte, in its order.
   */
  private ImportReport roundTrip(
      final Path input, final String preset, final int width, final DataType dtype) {
    final RunConfig config =
        ConfigLoader.parse(
            CONFIG.formatted(dtype == DataType.DOUBLE ? "float64" : "float32", preset, width),
            "t",
            Map.of());
    final Model model =
        ModelFactory.build(
            config.model().layers(),
            Shape.image(32, 32, 3),
            dtype,
            config.bn().decay(),
            config.bn().epsilon());
    model.initialize(3);
    final Map<String, NpyArray> file = Npz.read(input);
    // Negative control: the model's own weights are not the file's.
    assertNotEquals(file, WeightsFile.toArrays(model, WeightLayout.PYTORCH));

    final ImportReport report = WeightsFile.load(model, input, WeightLayout.PYTORCH);
    final Path output = dir.resolve("exported.npz");
    WeightsFile.save(model, output, WeightLayout.PYTORCH);
    final Map<String, NpyArray> exported = Npz.read(output);

    assertEquals(List.copyOf(file.keySet()), List.copyOf(exported.keySet()), "keys and order");
    for (final String key : file.keySet()) {
      final NpyArray a = file.get(key);
      final NpyArray b = exported.get(key);
      assertEquals(a.dtype(), b.dtype(), key);
      assertArrayEquals(a.shape(), b.shape(), key);
      assertEquals(a.data(), b.data(), key + ": bytes");
    }
    return report;
  }

  /**
   * The state_dict torchvision's {@code resnet18(num_classes=10)} at width 8 would have: {@code
   * keys} in order with their PyTorch shapes, a counter after each {@code running_var}, seeded
   * values (variances positive).
   */
  private static Map<String, NpyArray> stateDict(
      final PresetKeys keys, final boolean float64, final long seed) {
    final SplittableRandom random = new SplittableRandom(seed);
    final Map<String, NpyArray> out = new LinkedHashMap<>();
    for (int i = 0; i < keys.keys().size(); i++) {
      final String key = keys.keys().get(i);
      final long[] shape = keys.shapes().get(i).stream().mapToLong(Long::longValue).toArray();
      long count = 1;
      for (final long d : shape) {
        count *= d;
      }
      final List<Double> values = new ArrayList<>();
      for (long k = 0; k < count; k++) {
        values.add(
            key.endsWith("running_var")
                ? random.nextDouble(0.5, 2.0)
                : random.nextDouble(-1.0, 1.0));
      }
      out.put(key, array(values, shape, float64));
      if (key.endsWith(".running_var")) {
        final String bn = key.substring(0, key.length() - "running_var".length());
        out.put(bn + "num_batches_tracked", NpyArray.ofLongs(new long[] {0}));
      }
    }
    return out;
  }

  private static NpyArray array(final List<Double> values, final long[] shape, final boolean wide) {
    if (wide) {
      return NpyArray.ofDoubles(values.stream().mapToDouble(Double::doubleValue).toArray(), shape);
    }
    final float[] f = new float[values.size()];
    for (int i = 0; i < f.length; i++) {
      f[i] = values.get(i).floatValue();
    }
    return NpyArray.ofFloats(f, shape);
  }
}
