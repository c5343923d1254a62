package io.synctower.common.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.nn.LayerSpec;
import io.synctower.common.nn.Padding;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Config reading of conv2d padding, pooling padding, avgpool2d and globalavgpool. */
class PaddingAndPoolingConfigTest {
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

  private static List<LayerSpec> layers(final String layers) {
    return ConfigLoader.parse(config(layers), "test.yaml", Map.of()).model().layers();
  }

  private static List<String> problems(final String layers) {
    return assertThrows(
            ConfigException.class, () -> ConfigLoader.parse(config(layers), "test.yaml", Map.of()))
        .problems();
  }

  private static void assertOneProblem(final String layers, final String... parts) {
    final List<String> problems = problems(layers);
    assertEquals(1, problems.size(), problems.toString());
    for (final String part : parts) {
      assertTrue(problems.get(0).contains(part), () -> "'" + part + "' missing in " + problems);
    }
  }

  @ParameterizedTest
  @CsvSource({
    "valid, VALID, 0",
    "same, SAME, 0",
    "SAME, SAME, 0",
    "0, VALID, 0",
    "1, EXPLICIT, 1",
    "'2', EXPLICIT, 2"
  })
  void conv2dPaddingIsValidSameOrAnInteger(
      final String given, final Padding.Mode mode, final int size) {
    final LayerSpec.Conv2d conv =
        (LayerSpec.Conv2d)
            layers("- {type: conv2d, filters: 2, kernel: 3, padding: " + given + "}").get(0);
    assertEquals(new Padding(mode, size), conv.padding());
  }

  @Test
  void conv2dPaddingDefaultsToValid() {
    assertEquals(
        Padding.VALID,
        ((LayerSpec.Conv2d) layers("- {type: conv2d, filters: 2}").get(0)).padding());
  }

  @Test
  void conv2dPaddingNotSmallerThanTheKernelNamesTheFieldAndTheChoices() {
    assertOneProblem(
        "- {type: conv2d, kernel: 3, padding: 3}",
        "model.layers[0].padding",
        "3 is out of range for kernel 3",
        "valid, same, or an integer 0..2");
    assertOneProblem("- {type: conv2d, kernel: 3, padding: -1}", "model.layers[0].padding", "0..2");
  }

  @Test
  void conv2dPaddingThatIsNoChoiceNamesTheFieldAndTheChoices() {
    assertOneProblem(
        "- {type: conv2d, kernel: 5, padding: full}",
        "model.layers[0].padding",
        "'full' is not valid, same or an integer",
        "0..4");
    assertOneProblem(
        "- {type: conv2d, kernel: 3, padding: 1.5}", "model.layers[0].padding", "'1.5'");
  }

  @Test
  void poolingLayersReadSizeStrideAndPadding() {
    final List<LayerSpec> specs =
        layers(
            """
            - {type: maxpool2d, size: 3, stride: 2, padding: 1}
            - {type: maxpool2d}
            - {type: avgpool2d, size: 3, stride: 1, padding: 1, name: smooth}
            - {type: avgpool2d}
            - {type: globalavgpool}
            """);
    assertEquals(
        List.of(
            new LayerSpec.MaxPool(null, 3, 2, 1),
            new LayerSpec.MaxPool(null, 2, 2, 0),
            new LayerSpec.AvgPool("smooth", 3, 1, 1),
            new LayerSpec.AvgPool(null, 2, 2, 0),
            new LayerSpec.GlobalAvgPool(null)),
        specs);
  }

  @Test
  void poolingPaddingOverHalfTheWindowNamesTheFieldAndTheLimit() {
    assertOneProblem(
        "- {type: maxpool2d, size: 3, padding: 2}",
        "model.layers[0].padding",
        "more than half the pool size 3",
        "use 0..1");
    assertOneProblem(
        "- {type: avgpool2d, size: 2, padding: 2}", "model.layers[0].padding", "use 0..1");
    assertOneProblem(
        "- {type: avgpool2d, padding: same}", "model.layers[0].padding", "expected an integer");
  }

  @Test
  void globalAvgPoolTakesNoSettings() {
    assertOneProblem("- {type: globalavgpool, size: 2}", "model.layers[0]", "size");
  }
}
