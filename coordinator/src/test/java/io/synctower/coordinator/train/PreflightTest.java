package io.synctower.coordinator.train;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.config.ConfigException;
import io.synctower.common.config.ConfigLoader;
import io.synctower.common.config.RunConfig;
import io.synctower.common.data.Dataset;
import io.synctower.common.data.SampleShape;
import io.synctower.worker.assembly.TrainingData;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Shape, label and batch problems found before any tower starts: every one at once, each naming the
 * key (the layer's index in {@code model.layers}), the value (layer, input shape) and the fix.
 */
class PreflightTest {
  private static final String CONFIG =
      """
      model:
        layers:
          - {type: conv2d, filters: 4, kernel: 3}
          - {type: relu}
          - {type: flatten}
          - {type: dense, units: 10}
      training:
        batchSize: 8
      """;

  /** Zero images of 5x5x1, one label of 10 classes each unless told otherwise. */
  private record Tiny(int size, int labelPositions, int numClasses) implements Dataset {
    @Override
    public SampleShape sampleShape() {
      return new SampleShape(1, 5, 5);
    }

    @Override
    public void sample(
        final int index, final float[] pixelsHwc, final int[] labels, final int labelOffset) {
      Arrays.fill(pixelsHwc, 0, 25, 0f);
      Arrays.fill(labels, labelOffset, labelOffset + labelPositions, 0);
    }

    @Override
    public String describe() {
      return "tiny(5x5x1, n=" + size + ")";
    }
  }

  private static final TrainingData TINY = new TrainingData(new Tiny(32, 1, 10), null, null);

  private static List<String> problems(final String config, final TrainingData data) {
    final RunConfig c = ConfigLoader.parse(config, "test.yaml", Map.of());
    return Preflight.problems(c, data);
  }

  private static List<String> problems(final String config) {
    return problems(config, TINY);
  }

  private static void assertOne(final List<String> problems, final String... parts) {
    assertEquals(1, problems.size(), problems.toString());
    assertContains(problems.get(0), parts);
  }

  private static void assertContains(final String problem, final String... parts) {
    for (final String part : parts) {
      assertTrue(problem.contains(part), () -> "'" + part + "' missing in " + problem);
    }
  }

  @Test
  void aModelWhoseShapesFlowAndMatchTheLabelsPasses() {
    assertEquals(List.of(), problems(CONFIG));
    assertDoesNotThrow(
        () -> Preflight.check(ConfigLoader.parse(CONFIG, "test.yaml", Map.of()), TINY, "t"));
  }

  @Test
  void aKernelLargerThanTheImageNamesTheLayerItsInputAndTheFix() {
    assertOne(
        problems(CONFIG.replace("kernel: 3", "kernel: 9")),
        "model.layers[0] (conv1, conv2d)",
        "with input (C,H,W)=(1,5,5) (the dataset's samples)",
        "kernel 9",
        "use padding: same, a smaller kernel");
  }

  @Test
  void aDenseLayerAfterAConvolutionWithoutFlattenIsNamed() {
    assertOne(
        problems(CONFIG.replace("    - {type: flatten}\n", "")),
        "model.layers[2] (fc1, dense)",
        "with input (C,H,W)=(4,3,3)",
        "put a flatten layer before it");
  }

  @Test
  void aReshapeOfTheWrongSizeIsNamed() {
    final TrainingData twoPositions = new TrainingData(new Tiny(32, 2, 5), null, null);
    final String reshaped =
        CONFIG.replace("units: 10}\n", "units: 10}\n    - {type: reshape, shape: [2, 5]}\n");
    assertEquals(List.of(), problems(reshaped, twoPositions));
    assertOne(
        problems(reshaped.replace("units: 10", "units: 12"), twoPositions),
        "model.layers[4] (reshape1, reshape)",
        "with input [12]",
        "cannot reshape [12] (12 values) to [2, 5] (10 values)",
        "make the previous layer produce 10 values");
  }

  @Test
  void anOutputThatDoesNotMatchTheLabelsNamesBothAndTheFix() {
    assertOne(
        problems(CONFIG.replace("units: 10", "units: 7")),
        "model.layers: the model outputs [7] per sample",
        "tiny(5x5x1, n=32) has 1 label position(s) of 10 classes",
        "end the model with a dense layer of 10 units");
    assertOne(
        problems(CONFIG, new TrainingData(new Tiny(32, 4, 10), null, null)),
        "4 label position(s) of 10 classes",
        "dense layer of 40 units and reshape: [4, 10]");
  }

  private static final String PRESET =
      """
      model:
        preset: resnet20
        width: 2
        classes: 7
      data:
        train: {type: idx, images: x.idx, labels: y.idx, classes: 7}
      training:
        batchSize: 8
      """;

  @Test
  void aPresetWhoseClassesDoNotMatchTheLabelsNamesModelClassesAndTheCount() {
    assertEquals(List.of(), problems(PRESET.replaceFirst("classes: 7", "classes: 10")));
    assertOne(
        problems(PRESET),
        "model.classes: resnet20 outputs [7] per sample",
        "tiny(5x5x1, n=32) has 10 classes",
        "set model.classes: 10");
    assertOne(
        problems(PRESET, new TrainingData(new Tiny(32, 4, 10), null, null)),
        "model.preset: resnet20 classifies one label per image",
        "4 label positions",
        "use model.layers");
  }

  @Test
  void aBatchLargerThanTheTrainingSetIsNamedWithTheLargestThatFits() {
    assertOne(
        problems(CONFIG.replace("batchSize: 8", "batchSize: 64")),
        "training.batchSize: 64 is larger than the training set (32 samples",
        "use at most 32");
  }

  @Test
  void everyProblemIsReportedInOneExceptionEachWithKeyValueAndFix() {
    final String bad =
        CONFIG
            .replace("kernel: 3", "kernel: 9")
            .replace(
                "units: 10}\n",
                "units: 7}\n    - {type: maxpool2d}\n    - {type: dense, units: 7}\n")
            .replace("batchSize: 8", "batchSize: 64");
    final ConfigException e =
        assertThrows(
            ConfigException.class,
            () ->
                Preflight.check(ConfigLoader.parse(bad, "test.yaml", Map.of()), TINY, "bad.yaml"));
    final List<String> p = e.problems();
    assertEquals(4, p.size(), p.toString());
    assertContains(p.get(0), "model.layers[0] (conv1, conv2d)", "(C,H,W)=(1,5,5)", "kernel 9");
    assertContains(p.get(1), "model.layers[4] (pool1, maxpool2d)", "input [7]", "needs an image");
    assertContains(p.get(2), "model.layers: the model outputs [7]", "dense layer of 10 units");
    assertContains(p.get(3), "training.batchSize: 64", "use at most 32");
    assertTrue(e.getMessage().startsWith("4 problems in bad.yaml:"), e.getMessage());
  }

  @Test
  void aModelLargerThanTheMemoryLimitIsOneProblemWithTheFigures() {
    final RunConfig c = ConfigLoader.parse(CONFIG, "test.yaml", Map.of());
    final String refused =
        Preflight.memoryProblem(c, TINY, 2, new MemoryLimit(1024, "a test limit")).orElseThrow();
    assertContains(
        refused,
        "model: 2 tower(s) in this process need at least",
        "1.0 KiB is available (a test limit)",
        "training.batchSize",
        "SYNCTOWER_JAVA_OPTS=-Xmx16g",
        "org.bytedeco.javacpp.maxbytes");
    assertEquals(
        java.util.Optional.empty(),
        Preflight.memoryProblem(c, TINY, 2, new MemoryLimit(1L << 30, "a test limit")));
    final ConfigException e =
        assertThrows(
            ConfigException.class,
            () -> Preflight.check(c, TINY, "t.yaml", 2, new MemoryLimit(1024, "a test limit")));
    assertEquals(1, e.problems().size(), e.problems().toString());
  }

  @Test
  void aNormalizationWithTheWrongChannelCountIsAProblem() {
    final TrainingData data =
        new TrainingData(
            new Tiny(32, 1, 10),
            null,
            new io.synctower.common.data.Normalization(
                new float[] {0.5f, 0.5f, 0.5f}, new float[] {0.2f, 0.2f, 0.2f}));
    assertOne(
        problems(CONFIG, data),
        "data.mean/data.std: 3 value(s) each",
        "has 1 channel(s)",
        "one mean and one std per channel (1 each)");
  }
}
