package io.synctower.common.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.data.DataException;
import io.synctower.common.data.NpyArray;
import io.synctower.common.data.NpyDtype;
import io.synctower.common.data.Npz;
import io.synctower.common.data.NpzBoundsTest;
import io.synctower.common.nn.Model;
import io.synctower.common.testing.Fuzz;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * Imported weights from issue 12: values no model can use are refused naming key and index, only
 * the model's entries are read (and only as much as their tensors hold), and the missing-keys hint
 * names the CLI flag.
 */
class ImportValuesTest {
  private static final ImportOptions NON_STRICT = new ImportOptions(false, Set.of());

  @TempDir Path dir;

  private static Map<String, NpyArray> exported(final Model model) {
    return WeightsFile.toArrays(model, WeightLayout.PYTORCH);
  }

  private static float[] floats(final NpyArray a) {
    return a.toFloatArray();
  }

  @Test
  void aNegativeRunningVarianceIsRefusedNamingKeyAndIndex() {
    final Model model = TestModels.small(DataType.FLOAT, 1);
    final Map<String, NpyArray> arrays = exported(model);
    final float[] var = floats(arrays.get("bn1.running_var"));
    var[2] = -0.5f;
    arrays.put("bn1.running_var", NpyArray.ofFloats(var, var.length));
    final double[] before = TestModels.host(model.state());
    final DataException e =
        assertThrows(
            DataException.class,
            () ->
                WeightsFile.load(model, arrays, WeightLayout.PYTORCH, ImportOptions.DEFAULTS, "w"));
    assertTrue(e.getMessage().contains("bn1.running_var index 2 is -0.5"), e.getMessage());
    assertTrue(e.getMessage().contains("--init-layers"), e.getMessage());
    assertArrayEquals(before, TestModels.host(model.state()));
  }

  @Test
  void nanAndInfinityAreRefusedNamingTheKey() {
    final Model model = TestModels.small(DataType.FLOAT, 1);
    final Map<String, NpyArray> arrays = exported(model);
    final float[] w = floats(arrays.get("conv1.weight"));
    w[5] = Float.NaN;
    arrays.put("conv1.weight", NpyArray.ofFloats(w, arrays.get("conv1.weight").shape()));
    final float[] b = floats(arrays.get("fc.bias"));
    b[0] = Float.NEGATIVE_INFINITY;
    arrays.put("fc.bias", NpyArray.ofFloats(b, b.length));
    final double[] before = TestModels.host(model.parameters());
    final DataException e =
        assertThrows(
            DataException.class,
            () ->
                WeightsFile.load(model, arrays, WeightLayout.PYTORCH, ImportOptions.DEFAULTS, "w"));
    assertTrue(e.getMessage().contains("conv1.weight index 5 is NaN"), e.getMessage());
    assertTrue(e.getMessage().contains("fc.bias index 0 is -Infinity"), e.getMessage());
    assertArrayEquals(before, TestModels.host(model.parameters()));
  }

  @Test
  void aFloat64ValueBeyondFloat32IsRefusedForAFloatModel() {
    final Model model = TestModels.small(DataType.FLOAT, 1);
    final Map<String, NpyArray> arrays = exported(model);
    final double[] b = arrays.get("fc.bias").toDoubleArray();
    b[1] = 1e300;
    arrays.put("fc.bias", NpyArray.ofDoubles(b, b.length));
    final DataException e =
        assertThrows(
            DataException.class,
            () ->
                WeightsFile.load(model, arrays, WeightLayout.PYTORCH, ImportOptions.DEFAULTS, "w"));
    assertTrue(e.getMessage().contains("fc.bias index 1 is 1.0E300 (infinite as float32)"));
  }

  @Test
  void theMissingKeysHintNamesTheCliFlags() {
    final Model model = TestModels.small(DataType.FLOAT, 1);
    final Map<String, NpyArray> arrays = exported(model);
    arrays.remove("fc.bias");
    final WeightsMismatchException e =
        assertThrows(
            WeightsMismatchException.class,
            () ->
                WeightsFile.load(model, arrays, WeightLayout.PYTORCH, ImportOptions.DEFAULTS, "w"));
    assertTrue(e.getMessage().contains("import with --init-partial"), e.getMessage());
    assertTrue(!e.getMessage().contains("new ImportOptions"), e.getMessage());
  }

  @Test
  void entriesThatAreNotModelKeysAreNeverInflated() throws Exception {
    final Model model = TestModels.small(DataType.FLOAT, 1);
    TestModels.randomize(model, 4);
    final Map<String, byte[]> entries = new LinkedHashMap<>();
    for (final Map.Entry<String, NpyArray> a : exported(model).entrySet()) {
      entries.put(a.getKey() + ".npy", NpzBoundsTest.npy(a.getValue()));
    }
    entries.put("optimizer.momentum.npy", NpzBoundsTest.zeros(96 << 20)); // a 96 MiB bomb
    entries.put("broken.npy", "not an array".getBytes(StandardCharsets.US_ASCII));
    final Path file = Files.write(dir.resolve("w.npz"), NpzBoundsTest.zip(entries, true));
    final Model target = TestModels.small(DataType.FLOAT, 2);
    Fuzz.expect(
        "non-model bomb",
        () -> {
          final ImportReport r = WeightsFile.load(target, file, WeightLayout.PYTORCH, NON_STRICT);
          assertEquals(List.of("optimizer.momentum", "broken"), r.unexpected());
        });
    assertArrayEquals(TestModels.host(model.parameters()), TestModels.host(target.parameters()));
  }

  @Test
  void aModelKeyDeclaringAHugeShapeIsMisshapedWithoutBeingRead() throws Exception {
    final Model model = TestModels.small(DataType.FLOAT, 1);
    final Map<String, byte[]> entries = new LinkedHashMap<>();
    for (final Map.Entry<String, NpyArray> a : exported(model).entrySet()) {
      entries.put(a.getKey() + ".npy", NpzBoundsTest.npy(a.getValue()));
    }
    entries.put("fc.bias.npy", NpzBoundsTest.zeros(96 << 20));
    final Path file = Files.write(dir.resolve("w.npz"), NpzBoundsTest.zip(entries, true));
    Fuzz.expect(
        "model-key bomb",
        () -> {
          final WeightsMismatchException e =
              assertThrows(
                  WeightsMismatchException.class,
                  () -> WeightsFile.load(model, file, WeightLayout.PYTORCH));
          assertEquals(List.of("fc.bias"), e.misshaped());
          assertTrue(e.getMessage().contains("fc.bias: file |u1 [100663296]"), e.getMessage());
        });
  }

  @Test
  void aStrictImportListsANonModelEntryWithoutReadingIt() throws Exception {
    final Model model = TestModels.small(DataType.FLOAT, 1);
    final Map<String, NpyArray> arrays = exported(model);
    arrays.put("extra", NpyArray.ofBytes(NpyDtype.UINT8, new byte[] {1}, 1));
    final Path file = dir.resolve("w.npz");
    Npz.write(file, arrays, false);
    final WeightsMismatchException e =
        assertThrows(
            WeightsMismatchException.class,
            () -> WeightsFile.load(model, file, WeightLayout.PYTORCH));
    assertEquals(List.of("extra"), e.unexpected());
  }
}
