package io.synctower.common.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.nn.LayerSpec;
import io.synctower.common.nn.Padding;
import io.synctower.common.nn.ParamSpec;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code type: residual} in the configuration: the specs it gives and errors naming the field. */
class ResidualConfigTest {
  private static String config(final String layers) {
    return """
        name: t
        model:
          layers:
        %s
        data:
          train: {type: overfit, size: 10}
        training:
          batchSize: 8
          optimizer: {type: adadelta}
        """
        .formatted(layers.indent(4).stripTrailing());
  }

  private static RunConfig parse(final String layers) {
    return ConfigLoader.parse(config(layers), "test.yaml", Map.of());
  }

  private static List<String> problems(final String layers) {
    return assertThrows(ConfigException.class, () -> parse(layers)).problems();
  }

  @Test
  void aBlockShouldReadItsBranchesNameAndReluAfterAdd() {
    final RunConfig c =
        parse(
            """
            - {type: conv2d, filters: 4, kernel: 3, padding: same}
            - type: residual
              name: layer1.0
              layers:
                - {type: conv2d, filters: 8, kernel: 3, stride: 2, padding: same, bias: false}
                - {type: batchnorm}
              shortcut:
                - {type: conv2d, filters: 8, kernel: 1, stride: 2, bias: false, trainable: false}
                - {type: batchnorm, name: proj_bn}
            - type: residual
              reluAfterAdd: false
              layers: [{type: relu}]
            - {type: flatten}
            - {type: dense, units: 10}
            """);
    final List<LayerSpec> layers = c.model().layers();
    assertEquals(5, layers.size());
    final LayerSpec.Residual b = (LayerSpec.Residual) layers.get(1);
    assertEquals("layer1.0", b.name());
    assertTrue(b.reluAfterAdd());
    assertEquals(
        new LayerSpec.Conv2d(
            null, 8, 3, 2, Padding.SAME, false, ParamSpec.Init.GLOROT_UNIFORM, true),
        b.layers().get(0));
    assertEquals(
        new LayerSpec.Conv2d(
            null, 8, 1, 2, Padding.VALID, false, ParamSpec.Init.GLOROT_UNIFORM, false),
        b.shortcut().get(0));
    assertEquals("proj_bn", b.shortcut().get(1).name());
    final LayerSpec.Residual identity = (LayerSpec.Residual) layers.get(2);
    assertEquals(List.of(), identity.shortcut());
    assertEquals(false, identity.reluAfterAdd());
    assertEquals(null, identity.name());
    // The resolved configuration reads back into the same specs.
    assertEquals(
        layers, ConfigLoader.parse(ConfigLoader.toYaml(c), "resolved", Map.of()).model().layers());
    assertTrue(
        ModelFactory.layerNames(layers)
            .containsAll(List.of("layer1.0.conv1", "layer1.0.proj_bn", "block1.relu1")));
  }

  @Test
  void errorsInsideABlockShouldNameTheNestedField() {
    final List<String> p =
        problems(
            """
            - type: residual
              layers:
                - {type: conv2d, filterz: 8}
              shortcut:
                - {type: batchnorm, momentum: 0.1}
            """);
    assertEquals(2, p.size(), p.toString());
    assertTrue(p.get(0).startsWith("model.layers[0].layers[0].filterz"), p.toString());
    assertTrue(p.get(1).startsWith("model.layers[0].shortcut[0].momentum"), p.toString());
  }

  @Test
  void aBlockWithoutLayersShouldBeRefusedWithAnExample() {
    final List<String> p = problems("- {type: residual, shortcut: []}");
    assertEquals(1, p.size(), p.toString());
    assertTrue(p.get(0).startsWith("model.layers[0].layers: required"), p.toString());
    assertTrue(p.get(0).contains("type: batchnorm"), p.toString());
  }

  @Test
  void aBlockInsideABlockShouldBeRefused() {
    final List<String> p =
        problems(
            """
            - type: residual
              layers:
                - {type: relu}
                - type: residual
                  layers: [{type: relu}]
            """);
    assertEquals(1, p.size(), p.toString());
    assertTrue(p.get(0).startsWith("model.layers[0].layers[1].type"), p.toString());
    assertTrue(p.get(0).contains("inside a residual block is not supported"), p.toString());
  }

  @Test
  void unknownKeysOfABlockShouldBeNamed() {
    final List<String> p =
        problems("- {type: residual, layers: [{type: relu}], reluAfterAd: false}");
    assertEquals(1, p.size(), p.toString());
    assertTrue(p.get(0).startsWith("model.layers[0].reluAfterAd: unknown key"), p.toString());
  }

  @Test
  void aTorchvisionBasicBlockWithExplicitPaddingShouldBuildToTheStridedShape() {
    final RunConfig c =
        parse(
            """
            - type: residual
              name: layer2.0
              layers:
                - {type: conv2d, filters: 4, kernel: 3, stride: 2, padding: 1, bias: false}
                - {type: batchnorm}
                - {type: relu}
                - {type: conv2d, filters: 4, kernel: 3, padding: 1, bias: false}
                - {type: batchnorm}
              shortcut:
                - {type: conv2d, filters: 4, kernel: 1, stride: 2, bias: false}
                - {type: batchnorm}
            - {type: globalavgpool}
            - {type: dense, units: 10}
            """);
    final io.synctower.common.nn.Model m =
        ModelFactory.build(
            c.model().layers(),
            io.synctower.common.nn.Shape.image(7, 7, 3),
            org.nd4j.linalg.api.buffer.DataType.DOUBLE,
            0.9,
            1e-3);
    // 7x7, kernel 3, padding 1, stride 2 -> 4x4; the 1x1 stride-2 shortcut -> 4x4 too.
    assertEquals(
        io.synctower.common.nn.Shape.image(4, 4, 4),
        m.layers()
            .get(ModelFactory.layerNames(c.model().layers()).indexOf("layer2.0.add"))
            .outputShape());
  }
}
