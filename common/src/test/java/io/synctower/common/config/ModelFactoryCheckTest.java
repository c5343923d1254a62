package io.synctower.common.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.nn.LayerSpec;
import io.synctower.common.nn.Padding;
import io.synctower.common.nn.Shape;
import io.synctower.common.nn.ShapeException;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * {@link ModelFactory#check}: the shape flow {@link ModelFactory#build} enforces, every problem at
 * once, with the same verdict as {@code build} on each model.
 */
class ModelFactoryCheckTest {
  private static final Shape IMAGE_5X5 = Shape.image(5, 5, 1);

  private static LayerSpec conv(final int kernel) {
    return new LayerSpec.Conv2d(null, 4, kernel, 1, Padding.VALID, true, null, true);
  }

  private static LayerSpec dense(final int units) {
    return new LayerSpec.Dense(null, units, true, null, true);
  }

  private static ModelFactory.Check check(final List<LayerSpec> specs) {
    return ModelFactory.check(specs, IMAGE_5X5, DataType.FLOAT, 0.99, 1e-3);
  }

  private static void build(final List<LayerSpec> specs) {
    ModelFactory.build(specs, IMAGE_5X5, DataType.FLOAT, 0.99, 1e-3);
  }

  @Test
  void shapesThatFlowGiveTheOutputShapeOfTheBuiltModel() {
    final List<LayerSpec> specs =
        List.of(conv(3), new LayerSpec.Relu(null), new LayerSpec.Flatten(null), dense(10));
    final ModelFactory.Check c = check(specs);
    assertEquals(List.of(), c.problems());
    assertEquals(
        ModelFactory.build(specs, IMAGE_5X5, DataType.FLOAT, 0.99, 1e-3).outputShape(), c.output());
  }

  @Test
  void aKernelLargerThanTheImageNamesTheLayerItsInputAndTheFix() {
    final List<LayerSpec> specs = List.of(conv(9), new LayerSpec.Flatten(null), dense(10));
    final ModelFactory.Check c = check(specs);
    assertEquals(1, c.problems().size(), c.problems().toString());
    final ModelFactory.LayerProblem p = c.problems().get(0);
    assertEquals(0, p.index());
    assertEquals("conv1", p.name());
    assertEquals("conv2d", p.type());
    assertEquals(IMAGE_5X5, p.input());
    assertTrue(
        p.problem().contains("kernel 9") && p.problem().contains("padding: same"), p.problem());
    // The dense layer's output does not depend on its input: the output is known all the same.
    assertEquals(Shape.flat(10), c.output());
    assertThrows(ShapeException.class, () -> build(specs), "build agrees that it does not flow");
  }

  @Test
  void checkingGoesOnAfterADenseOrReshapeLayerAndFindsLaterProblems() {
    final List<LayerSpec> specs =
        List.of(
            conv(9), // does not fit 5x5
            new LayerSpec.Relu(null), // not checked: its input is unknown
            dense(12), // output [12] whatever its input
            new LayerSpec.MaxPool(null, 2, 2, 0), // needs an image
            new LayerSpec.Reshape(null, List.of(3, 4)), // output [3, 4] whatever its input
            new LayerSpec.Reshape(null, List.of(5))); // 12 values cannot become 5
    final ModelFactory.Check c = check(specs);
    assertEquals(
        List.of(0, 3, 5),
        c.problems().stream().map(ModelFactory.LayerProblem::index).toList(),
        c.problems().toString());
    assertEquals(Shape.flat(12), c.problems().get(1).input());
    assertTrue(c.problems().get(1).problem().contains("needs an image"));
    assertEquals(new Shape(3, 4), c.problems().get(2).input());
    assertEquals(Shape.flat(5), c.output());
  }

  @Test
  void aShapeUnknownAtTheEndLeavesTheOutputUnknown() {
    final ModelFactory.Check c = check(List.of(conv(9), new LayerSpec.Flatten(null)));
    assertEquals(1, c.problems().size());
    assertNull(c.output());
  }

  @Test
  void duplicateNamesAreReportedWithTheShapeProblems() {
    final List<LayerSpec> specs =
        List.of(
            new LayerSpec.Conv2d("stem", 4, 9, 1, Padding.VALID, true, null, true),
            new LayerSpec.Flatten(null),
            new LayerSpec.Dense("stem", 10, true, null, true));
    final ModelFactory.Check c = check(specs);
    assertEquals(2, c.problems().size(), c.problems().toString());
    assertEquals(2, c.problems().get(1).index());
    assertTrue(c.problems().get(1).problem().contains("duplicate layer name"));
  }

  @Test
  void paddedAndGlobalPoolingFlowWithTheirTypesAndDerivedNames() {
    final List<LayerSpec> specs =
        List.of(
            new LayerSpec.Conv2d(null, 4, 3, 1, Padding.explicit(1), true, null, true), // 5x5
            new LayerSpec.MaxPool(null, 3, 2, 1), // floor((5 + 2 - 3) / 2) + 1 = 3
            new LayerSpec.AvgPool(null, 2, 1, 0), // 2x2
            new LayerSpec.GlobalAvgPool(null), // [4]
            dense(10));
    final ModelFactory.Check c = check(specs);
    assertEquals(List.of(), c.problems());
    assertEquals(Shape.flat(10), c.output());
    final List<io.synctower.common.nn.Layer> layers =
        ModelFactory.layers(specs, IMAGE_5X5, DataType.FLOAT, 0.99, 1e-3);
    assertEquals(Shape.image(5, 5, 4), layers.get(0).outputShape());
    assertEquals(Shape.image(3, 3, 4), layers.get(1).outputShape());
    assertEquals(Shape.image(2, 2, 4), layers.get(2).outputShape());
    assertEquals(Shape.flat(4), layers.get(3).outputShape());
    assertEquals(
        List.of("conv1", "pool1", "avgpool1", "globalavgpool1", "fc1"),
        ModelFactory.layerNames(specs));
    assertEquals(
        List.of("conv2d", "maxpool2d", "avgpool2d", "globalavgpool", "dense"),
        specs.stream().map(ModelFactory::typeName).toList());
  }

  @Test
  void badPaddingAndPoolingProblemsNameTheLayerAndTheFix() {
    final List<LayerSpec> specs =
        List.of(
            new LayerSpec.Conv2d(null, 4, 3, 1, Padding.explicit(3), true, null, true),
            dense(75),
            new LayerSpec.Reshape(null, List.of(5, 5, 3)), // an image again
            new LayerSpec.MaxPool(null, 3, 1, 2), // padding over half the window
            new LayerSpec.Reshape(null, List.of(5, 5, 3)),
            new LayerSpec.AvgPool(null, 9, 1, 1), // larger than 5 + 2
            new LayerSpec.Reshape(null, List.of(75)),
            new LayerSpec.GlobalAvgPool(null)); // needs an image
    final ModelFactory.Check c = check(specs);
    assertEquals(
        List.of(0, 3, 5, 7),
        c.problems().stream().map(ModelFactory.LayerProblem::index).toList(),
        c.problems().toString());
    final List<String> texts =
        c.problems().stream().map(ModelFactory.LayerProblem::problem).toList();
    assertTrue(texts.get(0).contains("padding 3") && texts.get(0).contains("0..2"), texts.get(0));
    assertTrue(texts.get(1).contains("padding 2") && texts.get(1).contains("0..1"), texts.get(1));
    assertEquals("maxpool2d", c.problems().get(1).type());
    assertTrue(texts.get(2).contains("pool window 9"), texts.get(2));
    assertEquals("avgpool2d", c.problems().get(2).type());
    assertTrue(texts.get(3).contains("needs an image"), texts.get(3));
    assertEquals("globalavgpool1", c.problems().get(3).name());
    assertNull(c.output());
  }
}
