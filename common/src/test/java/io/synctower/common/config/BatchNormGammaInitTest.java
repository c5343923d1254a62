package io.synctower.common.config;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.synctower.common.nn.LayerSpec;
import io.synctower.common.nn.Model;
import io.synctower.common.nn.ParamSpec;
import io.synctower.common.nn.Shape;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * A BN spec's {@code gammaInit} reaches the built layer: after initialization its gamma is all 0
 * ({@code ZEROS}) or all 1 (the default), and nothing else about the layer changes.
 */
class BatchNormGammaInitTest {
  @Test
  void shouldStartGammaAtZeroOnlyWhereTheSpecSaysSo() {
    final List<LayerSpec> specs =
        List.of(
            new LayerSpec.Conv2d(
                "conv", 3, 3, 1, io.synctower.common.nn.Padding.VALID, false, null, true),
            new LayerSpec.BatchNorm("zero", Double.NaN, Double.NaN, true, ParamSpec.Init.ZEROS),
            new LayerSpec.BatchNorm("one", Double.NaN, Double.NaN, true));
    final Model model = ModelFactory.build(specs, Shape.image(5, 5, 2), DataType.DOUBLE, 0.9, 1e-5);
    model.initialize(7);
    for (final String layer : List.of("zero", "one")) {
      final double expected = layer.equals("zero") ? 0 : 1;
      final double[] gamma = model.tensor(layer + ".weight").toDoubleVector();
      final double[] runningVar = model.tensor(layer + ".running_var").toDoubleVector();
      for (int c = 0; c < 3; c++) {
        assertEquals(expected, gamma[c], layer);
        assertEquals(0, model.tensor(layer + ".bias").getDouble(c), layer);
        assertEquals(1, runningVar[c], layer);
      }
    }
  }
}
