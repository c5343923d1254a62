package io.synctower.common.checkpoint;

import static io.synctower.common.checkpoint.TestModels.host;
import static io.synctower.common.checkpoint.TestModels.tensor;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.bn.BatchNorm;
import io.synctower.common.data.NpyArray;
import io.synctower.common.data.NpyDtype;
import io.synctower.common.data.Npz;
import io.synctower.common.nn.Conv2D;
import io.synctower.common.nn.Dense;
import io.synctower.common.nn.Flatten;
import io.synctower.common.nn.Layer;
import io.synctower.common.nn.Model;
import io.synctower.common.nn.Padding;
import io.synctower.common.nn.ParamSpec;
import io.synctower.common.nn.Relu;
import io.synctower.common.nn.Shape;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * torchvision {@code state_dict} names (dotted layer names, {@code num_batches_tracked}) in weight
 * files. The reference file {@code torchvision-tiny.npz} was written by PyTorch itself ({@code
 * make_torchvision_tiny.py} next to it: torchvision's BasicBlock modules, saved with {@code
 * np.savez}); the models here are sequential chains whose layers carry the same names, which is all
 * a weight file sees of a model.
 */
class TorchvisionNamesTest {
  private static final int CLASSES = 3;

  @TempDir Path dir;

  /**
   * conv1, bn1, relu, then per stage {@code s} and block {@code b}: {@code layer<s>.<b>.conv1},
   * {@code .bn1}, {@code .relu}, {@code .conv2}, {@code .bn2} (bottleneck: {@code .conv3}, {@code
   * .bn3} too), and in the first block of every stage but the first {@code .downsample.0} (1x1
   * conv) and {@code .downsample.1} (BN); then flatten and fc. Input 1x1x2, every conv "same"
   * without bias, {@code width} channels throughout (bottleneck: {@code 4 * width} after conv3).
   */
  static Model tiny(
      final DataType dtype,
      final int[] blocks,
      final int width,
      final boolean bottleneck,
      final long seed) {
    final List<Layer> layers = new ArrayList<>();
    Shape shape = Shape.image(1, 1, 2);
    shape = conv(layers, "conv1", shape, width, 3, dtype);
    shape = bn(layers, "bn1", shape, dtype);
    layers.add(new Relu("relu", shape, dtype));
    for (int s = 1; s <= blocks.length; s++) {
      for (int b = 0; b < blocks[s - 1]; b++) {
        final String block = "layer" + s + "." + b + ".";
        shape = conv(layers, block + "conv1", shape, width, bottleneck ? 1 : 3, dtype);
        shape = bn(layers, block + "bn1", shape, dtype);
        layers.add(new Relu(block + "relu", shape, dtype));
        shape = conv(layers, block + "conv2", shape, width, 3, dtype);
        shape = bn(layers, block + "bn2", shape, dtype);
        if (bottleneck) {
          shape = conv(layers, block + "conv3", shape, 4 * width, 1, dtype);
          shape = bn(layers, block + "bn3", shape, dtype);
        }
        if (b == 0 && s > 1) {
          shape = conv(layers, block + "downsample.0", shape, shape.channels(), 1, dtype);
          shape = bn(layers, block + "downsample.1", shape, dtype);
        }
      }
    }
    final Flatten flat = new Flatten("flatten", shape, dtype);
    layers.add(flat);
    layers.add(
        new Dense(
            "fc", flat.outputShape(), CLASSES, true, true, ParamSpec.Init.GLOROT_UNIFORM, dtype));
    final Model model = new Model(layers, dtype);
    model.initialize(seed);
    return model;
  }

  /** The layers of {@code torchvision-tiny.npz}: stages of one basic block, width 4. */
  static Model tinyLikeTheFile(final DataType dtype, final long seed) {
    return tiny(dtype, new int[] {1, 1}, 4, false, seed);
  }

  private static Shape conv(
      final List<Layer> layers,
      final String name,
      final Shape in,
      final int filters,
      final int kernel,
      final DataType dtype) {
    final Conv2D c =
        new Conv2D(
            name,
            in,
            filters,
            kernel,
            1,
            Padding.SAME,
            false,
            true,
            ParamSpec.Init.HE_NORMAL,
            dtype);
    layers.add(c);
    return c.outputShape();
  }

  private static Shape bn(
      final List<Layer> layers, final String name, final Shape in, final DataType dtype) {
    final BatchNorm b = new BatchNorm(name, in, 0.9, 1e-5, true, dtype);
    layers.add(b);
    return b.outputShape();
  }

  /** The arrays of the PyTorch-written reference file, float32 as torch saved them. */
  private static Map<String, NpyArray> torchvisionFile() throws URISyntaxException {
    return Npz.read(torchvisionPath());
  }

  private static Path torchvisionPath() throws URISyntaxException {
    return Path.of(TorchvisionNamesTest.class.getResource("torchvision-tiny.npz").toURI());
  }

  /** {@code arrays} with every float32 array widened to float64 (exact), the rest as is. */
  private static Map<String, NpyArray> widened(final Map<String, NpyArray> arrays) {
    final Map<String, NpyArray> out = new LinkedHashMap<>();
    arrays.forEach(
        (k, a) ->
            out.put(
                k,
                a.dtype() == NpyDtype.FLOAT32
                    ? NpyArray.ofDoubles(a.toDoubleArray(), a.shape())
                    : a));
    return out;
  }

  @ParameterizedTest
  @EnumSource(
      value = DataType.class,
      names = {"FLOAT", "DOUBLE"})
  void shouldExportTheSameTensorsItLoadedFromATorchvisionStateDict(final DataType dtype)
      throws Exception {
    final Path input = dir.resolve("in.npz");
    Npz.write(
        input, dtype == DataType.FLOAT ? torchvisionFile() : widened(torchvisionFile()), false);
    final Map<String, NpyArray> file = Npz.read(input);
    final Model model = tinyLikeTheFile(dtype, 7);
    // Negative control: the model's own weights are not the file's.
    assertNotEquals(file, WeightsFile.toArrays(model, WeightLayout.PYTORCH));

    final ImportReport report = WeightsFile.load(model, input, WeightLayout.PYTORCH);
    final Path output = dir.resolve("out.npz");
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
    final List<String> counters =
        file.keySet().stream().filter(k -> k.endsWith(".num_batches_tracked")).toList();
    assertEquals(6, counters.size());
    assertEquals(counters, report.ignored());
    assertEquals(file.size() - counters.size(), report.loaded().size());
  }

  @Test
  void shouldPutEachTorchvisionTensorWhereTheLayerUsesIt() throws Exception {
    final Map<String, NpyArray> file = torchvisionFile();
    final Model model = tinyLikeTheFile(DataType.FLOAT, 7);
    WeightsFile.load(model, torchvisionPath(), WeightLayout.PYTORCH, ImportOptions.DEFAULTS);

    // Conv: file [out, in, kH, kW], internal [kH, kW, in, out].
    for (final String key : List.of("layer1.0.conv2.weight", "layer2.0.downsample.0.weight")) {
      final long[] s = file.get(key).shape();
      final float[] f = file.get(key).toFloatArray();
      final var internal = tensor(model, key).value();
      for (int o = 0; o < s[0]; o++) {
        for (int i = 0; i < s[1]; i++) {
          for (int kh = 0; kh < s[2]; kh++) {
            for (int kw = 0; kw < s[3]; kw++) {
              final int at = (int) (((o * s[1] + i) * s[2] + kh) * s[3] + kw);
              assertEquals(f[at], internal.getFloat(kh, kw, i, o), key);
            }
          }
        }
      }
    }
    // Dense [out, in] and BN vectors as they are.
    for (final String key :
        List.of("fc.weight", "fc.bias", "layer2.0.downsample.1.running_var", "bn1.weight")) {
      final float[] f = file.get(key).toFloatArray();
      final double[] v = host(tensor(model, key).flat());
      for (int i = 0; i < f.length; i++) {
        assertEquals(f[i], v[i], 0.0, key);
      }
    }
  }

  @Test
  void shouldAcceptAnyNumBatchesTrackedAndWriteZero() throws Exception {
    final Map<String, NpyArray> file = new LinkedHashMap<>(torchvisionFile());
    final NpyArray counter = file.get("layer1.0.bn2.num_batches_tracked");
    assertEquals(NpyDtype.INT64, counter.dtype());
    assertArrayEquals(new long[0], counter.shape(), "a 0-d array, as torch writes it");
    file.put("layer1.0.bn2.num_batches_tracked", NpyArray.ofLongs(new long[] {1234}));
    final Model model = tinyLikeTheFile(DataType.FLOAT, 7);

    final ImportReport report =
        WeightsFile.load(model, file, WeightLayout.PYTORCH, ImportOptions.DEFAULTS, "f");

    assertTrue(report.ignored().contains("layer1.0.bn2.num_batches_tracked"));
    final NpyArray written =
        WeightsFile.toArrays(model, WeightLayout.PYTORCH).get("layer1.0.bn2.num_batches_tracked");
    assertEquals(NpyDtype.INT64, written.dtype());
    assertArrayEquals(new long[0], written.shape());
    assertArrayEquals(new long[] {0}, written.toLongArray());
  }

  @Test
  void shouldRefuseAFileWithMoreBlocksGroupingTheAbsentBlocks() {
    final Map<String, NpyArray> deeper =
        WeightsFile.toArrays(
            tiny(DataType.FLOAT, new int[] {2, 3}, 4, false, 1), WeightLayout.PYTORCH);
    final Model model = tinyLikeTheFile(DataType.FLOAT, 7);
    final double[] before = host(model.parameters());

    final WeightsMismatchException e =
        assertThrows(
            WeightsMismatchException.class,
            () ->
                WeightsFile.load(model, deeper, WeightLayout.PYTORCH, ImportOptions.DEFAULTS, "f"));

    final List<String> expectedUnexpected =
        deeper.keySet().stream()
            .filter(
                k ->
                    k.startsWith("layer1.1.")
                        || k.startsWith("layer2.1.")
                        || k.startsWith("layer2.2."))
            .toList();
    assertEquals(expectedUnexpected, e.unexpected());
    assertEquals(List.of(), e.missing());
    assertEquals(List.of(), e.misshaped());
    final String m = e.getMessage();
    assertContains(
        m,
        "blocks per stage: file layer1 x2, layer2 x3; model layer1 x1, layer2 x1",
        expectedUnexpected.size() + " unexpected keys (in the file, not in the model):",
        "\n    layer1.1.* (" + count(deeper, "layer1.1.") + " keys)",
        "\n    layer2.1.* (" + count(deeper, "layer2.1.") + " keys)",
        "\n    layer2.2.* (" + count(deeper, "layer2.2.") + " keys)");
    assertFalse(m.contains("layer1.1.conv1.weight"), m);
    assertArrayEquals(before, host(model.parameters()), "a refused file changes nothing");
  }

  @Test
  void shouldRefuseAFileWithFewerBlocksGroupingTheMissingBlocks() throws Exception {
    final Model model = tiny(DataType.FLOAT, new int[] {2, 1}, 4, false, 7);

    final WeightsMismatchException e =
        assertThrows(
            WeightsMismatchException.class,
            () ->
                WeightsFile.load(
                    model, torchvisionFile(), WeightLayout.PYTORCH, ImportOptions.DEFAULTS, "f"));

    assertEquals(
        List.of(
            "layer1.1.conv1.weight",
            "layer1.1.bn1.weight",
            "layer1.1.bn1.bias",
            "layer1.1.bn1.running_mean",
            "layer1.1.bn1.running_var",
            "layer1.1.conv2.weight",
            "layer1.1.bn2.weight",
            "layer1.1.bn2.bias",
            "layer1.1.bn2.running_mean",
            "layer1.1.bn2.running_var"),
        e.missing());
    assertContains(
        e.getMessage(),
        "blocks per stage: file layer1 x1, layer2 x1; model layer1 x2, layer2 x1",
        "10 missing keys (in the model, not in the file):\n    layer1.1.* (10 keys)");
  }

  @Test
  void shouldListEveryWidthMismatchWithBothShapesInThePyTorchLayout() throws Exception {
    final Model wider = tiny(DataType.FLOAT, new int[] {1, 1}, 6, false, 7);

    final WeightsMismatchException e =
        assertThrows(
            WeightsMismatchException.class,
            () ->
                WeightsFile.load(
                    wider, torchvisionFile(), WeightLayout.PYTORCH, ImportOptions.DEFAULTS, "f"));

    // Every tensor but the counters and fc.bias (3 classes either way) has another width.
    assertEquals(
        torchvisionFile().keySet().stream()
            .filter(k -> !k.endsWith("num_batches_tracked") && !k.equals("fc.bias"))
            .toList(),
        e.misshaped());
    assertContains(
        e.getMessage(),
        "layer2.0.downsample.0.weight: file <f4 [4, 4, 1, 1], expected float32 or float64"
            + " [6, 6, 1, 1] [out, in, kH, kW]",
        "fc.weight: file <f4 [3, 4], expected float32 or float64 [3, 6] [out, in]",
        "\n    layer1.0.bn2.{weight, bias, running_mean, running_var}: file <f4 [4], expected"
            + " float32 or float64 [6]\n");
  }

  @Test
  void shouldDescribeAResNet50FileForAResNet18ModelInAFewGroupedLines() {
    // ResNet-50's stages and bottleneck blocks against ResNet-18's basic blocks, tiny widths.
    final Map<String, NpyArray> resnet50 =
        WeightsFile.toArrays(
            tiny(DataType.FLOAT, new int[] {3, 4, 6, 3}, 4, true, 1), WeightLayout.PYTORCH);
    final Model resnet18 = tiny(DataType.FLOAT, new int[] {2, 2, 2, 2}, 4, false, 7);

    final WeightsMismatchException e =
        assertThrows(
            WeightsMismatchException.class,
            () ->
                WeightsFile.load(
                    resnet18, resnet50, WeightLayout.PYTORCH, ImportOptions.DEFAULTS, "r50.npz"));

    final String m = e.getMessage();
    System.out.println(m);
    assertTrue(m.lines().count() < 60, m);
    assertContains(
        m,
        "blocks per stage: file layer1 x3, layer2 x4, layer3 x6, layer4 x3;"
            + " model layer1 x2, layer2 x2, layer3 x2, layer4 x2",
        "layer1.0.conv3: weight",
        "layer1.0.bn3: weight, bias, running_mean, running_var, num_batches_tracked",
        "layer3.5.* (" + count(resnet50, "layer3.5.") + " keys)",
        "layer2.0.downsample.0.weight: file <f4 [16, 16, 1, 1], expected float32 or float64"
            + " [4, 4, 1, 1]",
        // ResNet-18's blocks are not bottlenecks: their conv1 is 3x3, the file's 1x1.
        "layer1.0.conv1.weight: file <f4 [4, 4, 1, 1], expected float32 or float64 [4, 4, 3, 3]");
    // The exception's lists still hold every key, however few lines the message shows.
    final Map<String, NpyArray> model = WeightsFile.toArrays(resnet18, WeightLayout.PYTORCH);
    assertEquals(
        resnet50.keySet().stream().filter(k -> !model.containsKey(k)).toList(), e.unexpected());
    assertEquals(
        resnet50.keySet().stream()
            .filter(k -> model.containsKey(k) && !k.endsWith("num_batches_tracked"))
            .filter(k -> !java.util.Arrays.equals(model.get(k).shape(), resnet50.get(k).shape()))
            .toList(),
        e.misshaped());
  }

  @Test
  void shouldLoadOnlyTheLayersUnderTheGivenPrefixes() throws Exception {
    final Model model = tinyLikeTheFile(DataType.FLOAT, 7);
    final double[] fcBefore = host(tensor(model, "fc.weight").flat());

    final ImportReport r =
        WeightsFile.load(
            model,
            torchvisionFile(),
            WeightLayout.PYTORCH,
            new ImportOptions(true, Set.of("layer2.0.downsample", "conv1")),
            "f");

    assertEquals(
        List.of(
            "conv1.weight",
            "layer2.0.downsample.0.weight",
            "layer2.0.downsample.1.weight",
            "layer2.0.downsample.1.bias",
            "layer2.0.downsample.1.running_mean",
            "layer2.0.downsample.1.running_var"),
        r.loaded());
    assertEquals(List.of("layer2.0.downsample.1.num_batches_tracked"), r.ignored());
    assertTrue(r.skipped().contains("layer2.0.conv1.weight"), r.skipped()::toString);
    assertTrue(r.skipped().contains("fc.weight"), r.skipped()::toString);
    assertArrayEquals(fcBefore, host(tensor(model, "fc.weight").flat()));
  }

  @Test
  void shouldNameAPrefixThatSelectsNoLayerWithTheTopLevelNames() {
    final IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                WeightsFile.load(
                    tinyLikeTheFile(DataType.FLOAT, 7),
                    Map.of(),
                    WeightLayout.PYTORCH,
                    // "layer2.0.conv" is no layer and, at a dot boundary, no prefix of one.
                    new ImportOptions(true, Set.of("layer1", "layer3", "layer2.0.conv")),
                    "f"));
    assertContains(
        e.getMessage(),
        "layer2.0.conv (did you mean layer2.0.conv1?), layer3 (did you mean layer1?)",
        "top-level names (each selects every layer named <name>.*) are"
            + " [conv1, bn1, relu, layer1, layer2, flatten, fc]");
  }

  private static int count(final Map<String, NpyArray> arrays, final String prefix) {
    return (int) arrays.keySet().stream().filter(k -> k.startsWith(prefix)).count();
  }

  private static void assertContains(final String text, final String... parts) {
    for (final String part : parts) {
      assertTrue(text.contains(part), () -> "'" + part + "' missing in:\n" + text);
    }
  }
}
