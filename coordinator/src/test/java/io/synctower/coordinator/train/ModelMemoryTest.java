package io.synctower.coordinator.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.config.ConfigLoader;
import io.synctower.common.config.RunConfig;
import io.synctower.common.nn.Shape;
import io.synctower.worker.assembly.TrainingData;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The preflight memory estimate: exact counts of what a tower allocates for a small model,
 * saturation instead of overflow for an absurd one, and no shipped config near the test JVM's
 * limit.
 */
class ModelMemoryTest {
  private static RunConfig parse(final String layers, final String training) {
    return ConfigLoader.parse(
        "towers: 2\nmodel:\n  layers:\n" + layers + "training:\n" + training,
        "test.yaml",
        Map.of());
  }

  @Test
  void countsParametersGradientsOptimizerStateAndActivations() {
    final RunConfig c =
        parse(
            "    - {type: flatten}\n    - {type: batchnorm}\n    - {type: dense, units: 10}\n",
            "  batchSize: 7\n  optimizer: {type: adam}\n");
    final ModelMemory m = ModelMemory.of(c, Shape.image(4, 4, 1));
    // BN over 16 features: gamma, beta (learned), mean, var (state); dense 16x10 + 10.
    assertEquals(16 + 16 + 160 + 10, m.parameters());
    assertEquals(32, m.stateValues());
    assertEquals(2, m.optimizerSlots());
    // flatten 16 in, 16 out; batchnorm 16, 16; dense 16, 10
    assertEquals(16 + 16 + 16 + 16 + 16 + 10, m.activationsPerSample());
    assertEquals(4, m.batchPerTower()); // ceil(7 / 2)
    assertEquals((202L * 4 + 32) * 4, m.parameterBytes());
    assertEquals(90L * 4 * 4, m.activationBytes());
    assertEquals(2 * (m.parameterBytes() + m.activationBytes()), m.bytes(2));
  }

  @Test
  void accumulationHoldsTheActivationsOfOneMicroBatch() {
    final String layers = "    - {type: flatten}\n    - {type: dense, units: 10}\n";
    // 7 on 2 towers: shards of 4 and 3; in 3 micro-batches the largest is 2 (2/1/1).
    final ModelMemory m =
        ModelMemory.of(parse(layers, "  batchSize: 7\n  accumulateSteps: 3\n"), Shape.flat(3));
    assertEquals(2, m.batchPerTower());
  }

  @Test
  void plainSgdHasNoStateAndMomentumOneBuffer() {
    final String layers = "    - {type: flatten}\n    - {type: dense, units: 10}\n";
    assertEquals(
        0,
        ModelMemory.of(parse(layers, "  optimizer: {type: sgd, lr: 0.1}\n"), Shape.flat(3))
            .optimizerSlots());
    assertEquals(
        1,
        ModelMemory.of(
                parse(layers, "  optimizer: {type: sgd, lr: 0.1, momentum: 0.9}\n"), Shape.flat(3))
            .optimizerSlots());
  }

  @Test
  void anAbsurdModelSaturatesInsteadOfOverflowing() {
    // 2^40 conv outputs per sample, 2^19 samples per tower, 1024 towers: 2^71 bytes
    final RunConfig c =
        parse(
            "    - {type: conv2d, filters: 65536, kernel: 64, padding: same}\n",
            "  batchSize: 1048576\n");
    final ModelMemory m = ModelMemory.of(c, Shape.image(4096, 4096, 3));
    assertEquals(Long.MAX_VALUE, m.bytes(1024));
    assertEquals("more than 8 EiB", ModelMemory.format(m.bytes(1024)));
  }

  @Test
  void aFlattenWiderThanAnIntIsAShapeProblemNotAWrappedWidth() {
    // 16384 x 16384 x 65536 = 2^44 values: (int) of that is 0, of 2^44 + 10 it would be 10
    final io.synctower.common.nn.ShapeException e =
        org.junit.jupiter.api.Assertions.assertThrows(
            io.synctower.common.nn.ShapeException.class,
            () ->
                new io.synctower.common.nn.Flatten(
                    "flatten1",
                    Shape.image(16384, 16384, 65536),
                    org.nd4j.linalg.api.buffer.DataType.FLOAT));
    assertTrue(e.getMessage().contains("add pooling or strides"), e.getMessage());
  }

  @Test
  void everyShippedConfigFitsInFourGibibytes() throws Exception {
    final Path configs = Path.of("..", "configs");
    final List<Path> files;
    try (Stream<Path> list =
        Stream.concat(Files.list(configs), Files.list(configs.resolve("seeds")))) {
      files = list.filter(p -> p.toString().endsWith(".yaml")).sorted().toList();
    }
    assertTrue(files.size() >= 7, files::toString);
    for (final Path file : files) {
      final RunConfig c = ConfigLoader.load(file, Map.of());
      final var train = c.data().train();
      // The sample shape without reading the data (MNIST's IDX files and image folders need not
      // be here).
      final Shape input =
          switch (train.type()) {
            case "captcha" -> Shape.image(train.height(), train.width(), 1);
            case "idx" -> Shape.image(28, 28, 1);
            case "images" -> Shape.image(train.height(), train.width(), train.channels());
            default -> TrainingData.load(c, file.getParent()).inputShape();
          };
      final long bytes = ModelMemory.of(c, input).bytes(c.towers());
      // The tests run with -Xmx6g, bin/synctower with -Xmx8g: far from refusing these.
      assertTrue(bytes < (4L << 30), file + ": " + ModelMemory.format(bytes));
    }
  }
}
