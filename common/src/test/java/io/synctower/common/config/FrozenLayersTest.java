package io.synctower.common.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.nn.Layer;
import io.synctower.common.nn.LayerSpec;
import io.synctower.common.nn.Model;
import io.synctower.common.nn.Padding;
import io.synctower.common.nn.Shape;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;

/** {@code model.frozen}: name prefixes that set {@code trainable: false}. */
class FrozenLayersTest {
  private static final String BASE =
      """
      name: t
      model:
        layers:
          - {type: conv2d, name: conv1, filters: 2, kernel: 3, padding: same}
          - {type: batchnorm, name: bn1}
          - {type: relu, name: relu}
          - {type: conv2d, name: layer1.0.conv1, filters: 2, kernel: 3, padding: same}
          - {type: batchnorm, name: layer1.0.bn1}
          - {type: conv2d, name: layer10.0.conv1, filters: 2, kernel: 3, padding: same}
          - {type: batchnorm, name: layer10.0.bn1}
          - {type: flatten, name: flatten}
          - {type: dense, name: fc, units: 3}
      data:
        train: {type: overfit, size: 10}
      """;

  private static RunConfig parse(final String text, final Map<String, String> overrides) {
    return ConfigLoader.parse(text, "test.yaml", overrides);
  }

  /** The names of the layers whose spec says trainable: false, in order. */
  private static List<String> frozen(final RunConfig config) {
    final List<String> names = ModelFactory.layerNames(config.model().layers());
    final List<String> out = new ArrayList<>();
    for (int i = 0; i < names.size(); i++) {
      final LayerSpec s = config.model().layers().get(i);
      if ((s instanceof LayerSpec.Conv2d c && !c.trainable())
          || (s instanceof LayerSpec.Dense d && !d.trainable())
          || (s instanceof LayerSpec.BatchNorm b && !b.trainable())) {
        out.add(names.get(i));
      }
    }
    return out;
  }

  @Test
  void shouldFreezeEveryLayerUnderAPrefixButNotBeyondADotBoundary() {
    assertEquals(List.of(), frozen(parse(BASE, Map.of())));
    final RunConfig config =
        parse(BASE.replace("  layers:", "  frozen: [conv1, bn1, layer1]\n  layers:"), Map.of());
    assertEquals(List.of("conv1", "bn1", "layer1.0.conv1", "layer1.0.bn1"), frozen(config));
  }

  @Test
  void shouldTakeTheListFromTheCommandLineAndRecordItInTheResolvedConfig() {
    final RunConfig config = parse(BASE, Map.of("model.frozen", "[layer10, fc]"));
    assertEquals(List.of("layer10.0.conv1", "layer10.0.bn1", "fc"), frozen(config));
    final String yaml = ConfigLoader.toYaml(config);
    assertTrue(yaml.contains("frozen:\n  - layer10\n  - fc"), yaml);
    assertEquals(frozen(config), frozen(parse(yaml, Map.of())));
  }

  @Test
  void shouldBuildFrozenLayersWithoutTrainableParameters() {
    final RunConfig config = parse(BASE, Map.of("model.frozen", "[layer1]"));
    final Model model =
        ModelFactory.build(
            config.model().layers(), Shape.image(4, 4, 1), DataType.DOUBLE, 0.9, 1e-3);
    final List<String> trainable =
        model.layers().stream().filter(Layer::hasTrainableParameters).map(Layer::name).toList();
    assertEquals(List.of("conv1", "bn1", "layer10.0.conv1", "layer10.0.bn1", "fc"), trainable);
  }

  @Test
  void shouldNameAnEntryThatSelectsNoLayerWithTheTopLevelNames() {
    final List<String> problems =
        assertThrows(
                ConfigException.class,
                () -> parse(BASE, Map.of("model.frozen", "[layer1, layer2]")))
            .problems();
    assertEquals(1, problems.size(), problems.toString());
    final String p = problems.get(0);
    assertTrue(p.startsWith("model.frozen: 'layer2' selects no layer"), p);
    assertTrue(p.contains("[conv1, bn1, relu, layer1, layer10, flatten, fc]"), p);
  }

  @Test
  void shouldFreezeInsideResidualBlocksByTheirTorchvisionNames() {
    final LayerSpec.Conv2d conv =
        new LayerSpec.Conv2d(null, 2, 3, 1, Padding.SAME, false, null, true);
    final LayerSpec.BatchNorm bn = new LayerSpec.BatchNorm(null, Double.NaN, Double.NaN, true);
    final LayerSpec.Residual block =
        new LayerSpec.Residual("layer2.0", List.of(conv, bn), List.of(conv, bn), true);
    final ConfigNode node = ConfigNode.root(Map.of(), new ConfigNode.Problems());

    final List<LayerSpec> out =
        FrozenLayers.apply(List.of(block), List.of("layer2.0.downsample", "layer2.0.bn1"), node);

    final LayerSpec.Residual r = (LayerSpec.Residual) out.get(0);
    assertTrue(((LayerSpec.Conv2d) r.layers().get(0)).trainable(), "layer2.0.conv1");
    assertEquals(false, ((LayerSpec.BatchNorm) r.layers().get(1)).trainable(), "layer2.0.bn1");
    assertEquals(false, ((LayerSpec.Conv2d) r.shortcut().get(0)).trainable(), "downsample.0");
    assertEquals(false, ((LayerSpec.BatchNorm) r.shortcut().get(1)).trainable(), "downsample.1");
    assertTrue(node.problems().isEmpty());
    final List<LayerSpec> whole = FrozenLayers.apply(List.of(block), List.of("layer2"), node);
    assertEquals(
        false,
        ((LayerSpec.Conv2d) ((LayerSpec.Residual) whole.get(0)).layers().get(0)).trainable());
  }

  @Test
  void shouldNameTheLayersAfterAResidualBlockAsTheBuiltModelDoes() {
    // The block becomes 8 flat layers (fork, 2 main, shortcut, 2 shortcut, add, relu), so
    // the layers after it are not at their spec index in the model's name list.
    final LayerSpec.Residual block =
        new LayerSpec.Residual(
            "layer1.0",
            List.of(
                new LayerSpec.Conv2d(null, 2, 3, 1, Padding.SAME, false, null, true),
                new LayerSpec.BatchNorm(null, Double.NaN, Double.NaN, true)),
            List.of(
                new LayerSpec.Conv2d(null, 2, 1, 1, Padding.VALID, false, null, true),
                new LayerSpec.BatchNorm(null, Double.NaN, Double.NaN, true)),
            true);
    final List<LayerSpec> specs =
        List.of(
            new LayerSpec.Conv2d("conv1", 2, 3, 1, Padding.SAME, false, null, true),
            block,
            new LayerSpec.GlobalAvgPool("avgpool"),
            new LayerSpec.Dense("fc", 3, true, null, true));
    final ConfigNode node = ConfigNode.root(Map.of(), new ConfigNode.Problems());

    final List<LayerSpec> head = FrozenLayers.apply(specs, List.of("fc"), node);
    assertEquals(false, ((LayerSpec.Dense) head.get(3)).trainable(), "fc");
    assertTrue(((LayerSpec.Conv2d) head.get(0)).trainable(), "conv1");
    final LayerSpec.Residual r = (LayerSpec.Residual) head.get(1);
    assertTrue(((LayerSpec.Conv2d) r.layers().get(0)).trainable(), "layer1.0.conv1");
    assertTrue(((LayerSpec.BatchNorm) r.shortcut().get(1)).trainable(), "layer1.0.downsample.1");

    final List<LayerSpec> stem = FrozenLayers.apply(specs, List.of("conv1"), node);
    assertEquals(false, ((LayerSpec.Conv2d) stem.get(0)).trainable(), "conv1");
    assertTrue(((LayerSpec.Dense) stem.get(3)).trainable(), "fc");
    assertTrue(node.problems().isEmpty());

    final List<LayerSpec> inner = FrozenLayers.apply(specs, List.of("layer1.0.bn1"), node);
    final LayerSpec.Residual ri = (LayerSpec.Residual) inner.get(1);
    assertEquals(false, ((LayerSpec.BatchNorm) ri.layers().get(1)).trainable(), "layer1.0.bn1");
    assertTrue(((LayerSpec.BatchNorm) ri.shortcut().get(1)).trainable(), "downsample.1");
    assertTrue(((LayerSpec.Dense) inner.get(3)).trainable(), "fc");
    assertTrue(node.problems().isEmpty());
  }
}
