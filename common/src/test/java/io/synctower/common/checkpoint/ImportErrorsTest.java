package io.synctower.common.checkpoint;

import static io.synctower.common.checkpoint.TestModels.host;
import static io.synctower.common.checkpoint.TestModels.tensor;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.data.NpyArray;
import io.synctower.common.nn.Model;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;

class ImportErrorsTest {
  private static final ImportOptions NON_STRICT = new ImportOptions(false, Set.of());

  private static Map<String, NpyArray> exported(final Model model) {
    return new LinkedHashMap<>(WeightsFile.toArrays(model, WeightLayout.PYTORCH));
  }

  @Test
  void shouldListMissingUnexpectedAndMisshapedKeysInOneMessageAndLeaveTheModelUntouched() {
    final Model source = TestModels.small(DataType.FLOAT, 1);
    final Map<String, NpyArray> arrays = exported(source);
    arrays.put("fc.bais", arrays.remove("fc.bias"));
    arrays.remove("bn2.running_var");
    arrays.put("conv1.weight", NpyArray.ofFloats(new float[3 * 2 * 3 * 2], 3, 2, 3, 2));
    arrays.put("bn1.running_mean", NpyArray.ofLongs(new long[3], 3));
    final Model target = TestModels.small(DataType.FLOAT, 2);
    final double[] before = host(target.parameters());
    final double[] stateBefore = host(target.state());

    final WeightsMismatchException e =
        assertThrows(
            WeightsMismatchException.class,
            () ->
                WeightsFile.load(
                    target, arrays, WeightLayout.PYTORCH, ImportOptions.DEFAULTS, "w.npz"));

    assertEquals(List.of("fc.bias", "bn2.running_var"), e.missing());
    assertEquals(List.of("fc.bais"), e.unexpected());
    assertEquals(List.of("conv1.weight", "bn1.running_mean"), e.misshaped());
    final String m = e.getMessage();
    assertTrue(m.startsWith("w.npz does not fit the model in the PYTORCH layout (strict):"), m);
    assertTrue(m.contains("2 missing keys (in the model, not in the file):"), m);
    assertTrue(m.contains("\n    fc.bias\n    bn2.running_var"), m);
    assertTrue(m.contains("1 unexpected key (in the file, not in the model):"), m);
    assertTrue(m.contains("\n    fc.bais (did you mean fc.bias?)"), m);
    assertTrue(m.contains("2 mis-shaped keys"), m);
    assertTrue(
        m.contains(
            "conv1.weight: file <f4 [3, 2, 3, 2], expected float32 or float64 [3, 2, 3, 3]"
                + " [out, in, kH, kW]"),
        m);
    assertTrue(m.contains("bn1.running_mean: file <i8 [3], expected float32 or float64 [3]"), m);
    assertTrue(m.contains("fix: "), m);
    // Checked before copying: the keys that did fit were not loaded either.
    assertArrayEquals(before, host(target.parameters()));
    assertArrayEquals(stateBefore, host(target.state()));
  }

  @Test
  void shouldLoadAPretrainedBackboneIntoAModelWithANewHeadWhenNotStrict() {
    final Model source = TestModels.small(DataType.DOUBLE, 1);
    TestModels.randomize(source, 3);
    final Model target = TestModels.small(DataType.DOUBLE, 2, "head", 7, null);
    final double[] headBefore = host(tensor(target, "head.weight").flat());

    final ImportReport r =
        WeightsFile.load(target, exported(source), WeightLayout.PYTORCH, NON_STRICT, "w");

    assertEquals(
        List.of(
            "conv1.weight",
            "conv1.bias",
            "bn1.weight",
            "bn1.bias",
            "bn1.running_mean",
            "bn1.running_var"),
        r.loaded());
    assertEquals(List.of("head.weight", "head.bias"), r.missing());
    assertEquals(
        List.of(
            "fc.weight",
            "fc.bias",
            "bn2.weight",
            "bn2.bias",
            "bn2.running_mean",
            "bn2.running_var",
            "bn2.num_batches_tracked"),
        r.unexpected());
    for (final String key : r.loaded()) {
      assertArrayEquals(host(tensor(source, key).flat()), host(tensor(target, key).flat()), key);
    }
    assertArrayEquals(headBefore, host(tensor(target, "head.weight").flat()));
  }

  @Test
  void shouldRejectMisshapedKeysEvenWhenNotStrict() {
    final Model source = TestModels.small(DataType.FLOAT, 1);
    final Model wider = TestModels.small(DataType.FLOAT, 2, "fc", 7, "bn2");

    final WeightsMismatchException e =
        assertThrows(
            WeightsMismatchException.class,
            () -> WeightsFile.load(wider, exported(source), WeightLayout.PYTORCH, NON_STRICT, "w"));

    assertEquals(
        List.of(
            "fc.weight",
            "fc.bias",
            "bn2.weight",
            "bn2.bias",
            "bn2.running_mean",
            "bn2.running_var"),
        e.misshaped());
    assertEquals(List.of(), e.missing());
    assertEquals(List.of(), e.unexpected());
    assertTrue(
        e.getMessage()
            .contains(
                "fc.weight: file <f4 [5, 48], expected float32 or float64" + " [7, 48] [out, in]"),
        e.getMessage());
  }

  @Test
  void shouldLoadOnlyTheSelectedLayersStrictlyAndSkipTheRest() {
    final Model source = TestModels.small(DataType.FLOAT, 1);
    final Map<String, NpyArray> arrays = exported(source);
    arrays.remove("bn2.running_var"); // outside the selection: not missing
    final Model target = TestModels.small(DataType.FLOAT, 2, "head", 7, null);

    final ImportReport r =
        WeightsFile.load(
            target,
            arrays,
            WeightLayout.PYTORCH,
            new ImportOptions(true, Set.of("conv1", "bn1")),
            "w");

    assertEquals(6, r.loaded().size());
    assertEquals(
        List.of(
            "fc.weight",
            "fc.bias",
            "bn2.weight",
            "bn2.bias",
            "bn2.running_mean",
            "bn2.num_batches_tracked"),
        r.skipped());
    assertEquals(List.of(), r.missing());
    assertEquals(List.of(), r.unexpected());
  }

  @Test
  void shouldRequireEverySelectedTensorWhenStrict() {
    final Map<String, NpyArray> arrays = exported(TestModels.small(DataType.FLOAT, 1));
    arrays.remove("bn1.bias");
    final WeightsMismatchException e =
        assertThrows(
            WeightsMismatchException.class,
            () ->
                WeightsFile.load(
                    TestModels.small(DataType.FLOAT, 2),
                    arrays,
                    WeightLayout.PYTORCH,
                    new ImportOptions(true, Set.of("bn1")),
                    "w"));
    assertEquals(List.of("bn1.bias"), e.missing());
    assertTrue(e.getMessage().contains("(strict, layers [bn1]):"), e.getMessage());
  }

  @Test
  void shouldRejectOnlyLayersNamingALayerTheModelLacks() {
    final IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                WeightsFile.load(
                    TestModels.small(DataType.FLOAT, 1),
                    Map.of(),
                    WeightLayout.PYTORCH,
                    new ImportOptions(true, Set.of("conv")),
                    "w"));
    assertTrue(e.getMessage().contains("conv (did you mean conv1?)"), e.getMessage());
  }
}
