package io.synctower.common.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.config.ResNetPresets.Options;
import io.synctower.common.config.ResNetPresets.Preset;
import io.synctower.common.nn.LayerSpec;
import io.synctower.common.nn.Padding;
import io.synctower.common.nn.ParamSpec;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The presets' layer specs, before anything is built, against torchvision's module tree (the keys
 * of make_preset_keys.py's files): the same modules with tensors in the same order, conv kernels
 * and filters, bias or not. {@link ResNetPresetsBuildTest} checks the built tensors.
 */
class ResNetPresetsTest {
  static Stream<PresetKeys> cases() {
    return PresetKeys.FILES.stream().map(PresetKeys::load);
  }

  static List<LayerSpec> specs(final PresetKeys c) {
    return ResNetPresets.layers(
        Preset.named(c.preset()).orElseThrow(),
        new Options(c.classes(), c.width(), false, Double.NaN, Double.NaN));
  }

  /** Every spec with tensors, keyed by its full module name ({@code layer1.0.downsample.0}). */
  private static Map<String, LayerSpec> modules(final List<LayerSpec> specs) {
    final Map<String, LayerSpec> out = new LinkedHashMap<>();
    for (final LayerSpec s : specs) {
      if (s instanceof LayerSpec.Residual r) {
        Stream.concat(r.layers().stream(), r.shortcut().stream())
            .filter(ResNetPresetsTest::hasTensors)
            .forEach(inner -> out.put(r.name() + "." + inner.name(), inner));
      } else if (hasTensors(s)) {
        out.put(s.name(), s);
      }
    }
    return out;
  }

  private static boolean hasTensors(final LayerSpec s) {
    return s instanceof LayerSpec.Conv2d
        || s instanceof LayerSpec.BatchNorm
        || s instanceof LayerSpec.Dense;
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void shouldHaveTorchvisionsModulesInStateDictOrder(final PresetKeys c) {
    final List<String> expected =
        new ArrayList<>(
            new LinkedHashSet<>(
                c.keys().stream().map(k -> k.substring(0, k.lastIndexOf('.'))).toList()));
    assertEquals(expected, new ArrayList<>(modules(specs(c)).keySet()));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void shouldHaveTorchvisionsFiltersKernelsAndBiases(final PresetKeys c) {
    final Map<String, LayerSpec> modules = modules(specs(c));
    for (int i = 0; i < c.keys().size(); i++) {
      final String key = c.keys().get(i);
      final List<Long> shape = c.shapes().get(i);
      final String module = key.substring(0, key.lastIndexOf('.'));
      final boolean hasBias = c.keys().contains(module + ".bias");
      if (modules.get(module) instanceof LayerSpec.Conv2d conv && key.endsWith(".weight")) {
        assertEquals(shape.get(0), (long) conv.filters(), key);
        assertEquals(shape.get(2), (long) conv.kernel(), key);
        assertEquals(shape.get(3), (long) conv.kernel(), key);
        assertEquals(hasBias, conv.bias(), key);
        // PyTorch's padding=k/2 (3x3: 1, 7x7: 3, 1x1: 0 = valid), symmetric
        final int pad = conv.kernel() / 2;
        assertEquals(pad == 0 ? Padding.VALID : Padding.explicit(pad), conv.padding(), key);
      } else if (modules.get(module) instanceof LayerSpec.Dense fc && key.endsWith(".weight")) {
        assertEquals(shape.get(0), (long) fc.units(), key);
        assertEquals(hasBias, fc.bias(), key);
      }
    }
  }

  @ParameterizedTest
  @EnumSource(Preset.class)
  void shouldPutStrideTwoOnTheFirstBlockOfLaterStagesOnly(final Preset preset) {
    final List<LayerSpec> specs =
        ResNetPresets.layers(preset, new Options(10, 8, false, Double.NaN, Double.NaN));
    final int[] blocks = preset.blocksPerStage();
    for (int stage = 0; stage < blocks.length; stage++) {
      for (int j = 0; j < blocks[stage]; j++) {
        final String name = "layer" + (stage + 1) + "." + j;
        final LayerSpec.Residual block =
            (LayerSpec.Residual)
                specs.stream().filter(s -> name.equals(s.name())).findFirst().orElseThrow();
        final int expected = stage > 0 && j == 0 ? 2 : 1;
        // torchvision v1.5: the stride on the 3x3 conv (conv1 of a basic block, conv2 of a
        // bottleneck) and on the projection
        final String strided = preset.block() == ResNetPresets.Block.BASIC ? "conv1" : "conv2";
        for (final LayerSpec s : block.layers()) {
          if (s instanceof LayerSpec.Conv2d conv) {
            assertEquals(s.name().equals(strided) ? expected : 1, conv.stride(), name + s.name());
          }
        }
        if (!block.shortcut().isEmpty()) {
          assertEquals(expected, ((LayerSpec.Conv2d) block.shortcut().get(0)).stride(), name);
        }
        assertTrue(block.reluAfterAdd(), name);
      }
    }
  }

  @ParameterizedTest
  @EnumSource(Preset.class)
  void shouldStartOnlyTheLastBnOfEveryBlockAtZeroUnderZeroInitResidual(final Preset preset) {
    final String last = preset.block() == ResNetPresets.Block.BASIC ? "bn2" : "bn3";
    for (final boolean zero : new boolean[] {false, true}) {
      final List<LayerSpec> specs =
          ResNetPresets.layers(preset, new Options(10, 4, zero, 0.9, 1e-5));
      int zeros = 0;
      for (final Map.Entry<String, LayerSpec> m : modules(specs).entrySet()) {
        if (m.getValue() instanceof LayerSpec.BatchNorm bn) {
          final boolean shouldBeZero = zero && m.getKey().endsWith("." + last);
          assertEquals(
              shouldBeZero ? ParamSpec.Init.ZEROS : ParamSpec.Init.ONES,
              bn.gammaInit(),
              m.getKey());
          assertEquals(0.9, bn.decay());
          assertEquals(1e-5, bn.epsilon());
          zeros += shouldBeZero ? 1 : 0;
        }
      }
      final int blocks = java.util.Arrays.stream(preset.blocksPerStage()).sum();
      assertEquals(zero ? blocks : 0, zeros);
    }
  }

  @Test
  void shouldRefuseAWidthOrClassCountBelowOne() {
    assertThrows(IllegalArgumentException.class, () -> new Options(10, 0, false, 0.9, 1e-5));
    assertThrows(IllegalArgumentException.class, () -> new Options(0, 16, false, 0.9, 1e-5));
  }
}
