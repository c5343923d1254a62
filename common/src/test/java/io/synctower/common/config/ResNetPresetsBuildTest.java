package io.synctower.common.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.bn.BatchNorm;
import io.synctower.common.config.ResNetPresets.Options;
import io.synctower.common.config.ResNetPresets.Preset;
import io.synctower.common.nn.Conv2D;
import io.synctower.common.nn.Layer;
import io.synctower.common.nn.Model;
import io.synctower.common.nn.Shape;
import io.synctower.common.nn.ShapeException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * Built presets against torchvision (make_preset_keys.py's files): every tensor key and its shape
 * in PyTorch's layout equal the {@code state_dict}'s (without {@code num_batches_tracked}), and the
 * parameter count equals {@code sum(p.numel() for p in model.parameters())}; the feature-map sizes
 * of the published networks (224x224 in, 7x7 before the pooling; 32x32 in, 8x8 for the CIFAR nets).
 */
class ResNetPresetsBuildTest {
  static Stream<PresetKeys> cases() {
    return ResNetPresetsTest.cases();
  }

  private static Model build(final List<io.synctower.common.nn.LayerSpec> specs, final Shape in) {
    return ModelFactory.build(specs, in, DataType.FLOAT, 0.99, 1e-3);
  }

  /** The tensor's shape in PyTorch's layout: conv weights {@code [out, in, kH, kW]}. */
  private static List<Long> pytorchShape(final Model.Tensor t) {
    final long[] s = t.spec().shape();
    final long[] p =
        t.layer() instanceof Conv2D && t.spec().name().equals("weight")
            ? new long[] {s[3], s[2], s[0], s[1]}
            : s;
    return Arrays.stream(p).boxed().toList();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void shouldKeyAndShapeEveryTensorAsTorchvisionsStateDict(final PresetKeys c) {
    final Model model = build(ResNetPresetsTest.specs(c), Shape.image(32, 32, 3));
    final Map<String, List<Long>> actual = new TreeMap<>();
    for (final Model.Tensor t : model.tensors()) {
      actual.put(t.key(), pytorchShape(t));
    }
    final Map<String, List<Long>> expected = new TreeMap<>();
    for (int i = 0; i < c.keys().size(); i++) {
      expected.put(c.keys().get(i), c.shapes().get(i));
    }
    assertEquals(expected, actual);
    assertEquals(c.parameters(), model.parameterCount());
  }

  private static Layer layer(final Model model, final String name) {
    return model.layers().stream()
        .filter(l -> l.name().equals(name))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no layer " + name));
  }

  @Test
  void shouldReduceImageNetInputsAsTorchvisionDoes() {
    for (final Preset preset : List.of(Preset.RESNET18, Preset.RESNET50)) {
      final int expansion = preset.block().expansion();
      final Model model =
          build(
              ResNetPresets.layers(preset, new Options(10, 4, false, 0.9, 1e-5)),
              Shape.image(224, 224, 3));
      assertEquals(Shape.image(112, 112, 4), layer(model, "conv1").outputShape(), preset.name());
      assertEquals(Shape.image(56, 56, 4), layer(model, "maxpool").outputShape(), preset.name());
      // v1.5: in a bottleneck the stride sits on the 3x3 conv2, conv1 keeps the resolution
      final String strided = expansion == 1 ? "layer2.0.conv1" : "layer2.0.conv2";
      assertEquals(28, layer(model, strided).outputShape().height(), preset.name());
      if (expansion == 4) {
        assertEquals(56, layer(model, "layer2.0.conv1").outputShape().height());
      }
      assertEquals(
          Shape.image(7, 7, 32 * expansion), layer(model, "avgpool").inputShape(), preset.name());
      assertEquals(Shape.flat(10), model.outputShape());
    }
  }

  @Test
  void shouldKeepCifarInputsAtFullResolutionInTheFirstStage() {
    final Model model =
        build(
            ResNetPresets.layers(Preset.RESNET20, new Options(10, 16, false, 0.9, 1e-5)),
            Shape.image(32, 32, 3));
    assertEquals(Shape.image(32, 32, 16), layer(model, "layer1.2.conv2").outputShape());
    assertEquals(Shape.image(16, 16, 32), layer(model, "layer2.0.conv1").outputShape());
    assertEquals(Shape.image(8, 8, 64), layer(model, "avgpool").inputShape());
  }

  @Test
  void shouldBuildEveryBnLayerWithPyTorchsValuesAndZeroInitTheLastOfEachBlock() {
    final Model model =
        build(
            ResNetPresets.layers(Preset.RESNET20, new Options(10, 4, true, 0.9, 1e-5)),
            Shape.image(8, 8, 3));
    model.initialize(3);
    final List<String> zeroGamma = new ArrayList<>();
    for (final BatchNorm bn : BatchNorm.layersOf(model)) {
      assertEquals(0.9, bn.decay(), bn.name());
      assertEquals(1e-5, bn.epsilon(), bn.name());
      final double[] gamma = model.tensor(bn.name() + ".weight").toDoubleVector();
      if (gamma[0] == 0) {
        zeroGamma.add(bn.name());
      }
    }
    final List<String> lastOfEachBlock = new ArrayList<>();
    for (int stage = 1; stage <= 3; stage++) {
      for (int j = 0; j < 3; j++) {
        lastOfEachBlock.add("layer" + stage + "." + j + ".bn2");
      }
    }
    assertEquals(lastOfEachBlock, zeroGamma);
  }

  @Test
  void shouldTakeAnyImageSizeAsTorchvisionDoes() {
    // PyTorch's padding arithmetic never leaves an empty map: torchvision's resnet18 maps a 1x1
    // image to logits (every stage at 1x1), so no input is "too small" for the stem.
    for (final Preset preset : List.of(Preset.RESNET18, Preset.RESNET50, Preset.RESNET20)) {
      final Model model =
          build(
              ResNetPresets.layers(preset, new Options(10, 4, false, 0.9, 1e-5)),
              Shape.image(1, 1, 3));
      assertEquals(1, layer(model, "avgpool").inputShape().height(), preset.name());
      assertEquals(Shape.flat(10), model.outputShape(), preset.name());
    }
  }

  @Test
  void shouldSayThatAPresetNeedsAnImageInput() {
    final ShapeException e =
        assertThrows(
            ShapeException.class,
            () ->
                build(
                    ResNetPresets.layers(Preset.RESNET18, new Options(10, 4, false, 0.9, 1e-5)),
                    Shape.flat(100)));
    assertTrue(e.getMessage().contains("'conv1'"), e.getMessage());
    assertTrue(e.getMessage().contains("image"), e.getMessage());
  }
}
