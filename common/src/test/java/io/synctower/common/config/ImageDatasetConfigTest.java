package io.synctower.common.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.data.Dataset;
import io.synctower.common.data.SampleShape;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The {@code shapes}, {@code cifar10} and {@code cifar100} dataset types in a config. */
class ImageDatasetConfigTest {
  private static final String CONFIG =
      """
      model:
        layers:
          - {type: flatten}
          - {type: dense, units: 10}
      data:
        train: TRAIN
        validationSplit: 0
      """;

  @TempDir Path dir;

  private static RunConfig parse(final String train) {
    return ConfigLoader.parse(CONFIG.replace("TRAIN", train), "test.yaml", Map.of());
  }

  private static List<String> problems(final String train) {
    return assertThrows(ConfigException.class, () -> parse(train)).problems();
  }

  private static void assertOneProblem(final String train, final String part) {
    final List<String> p = problems(train);
    assertEquals(1, p.size(), p.toString());
    assertTrue(p.get(0).contains(part), p.toString());
  }

  @Test
  void shouldBuildShapesWithTheDocumentedDefaults() {
    final DatasetSpec spec = parse("{type: shapes}").data().train();
    final Dataset d = DatasetFactory.create(spec, null);
    assertEquals(10_000, d.size());
    assertEquals(10, d.numClasses());
    assertEquals(new SampleShape(3, 32, 32), d.sampleShape());
    assertEquals("shapes(seed=1, n=10000, 32x32x3, classes=10, noise=0.5)", d.describe());

    final Dataset small =
        DatasetFactory.create(
            parse(
                    "{type: shapes, size: 50, seed: 4, height: 16, width: 24, channels: 1,"
                        + " classes: 4, noise: 0}")
                .data()
                .train(),
            null);
    assertEquals("shapes(seed=4, n=50, 16x24x1, classes=4, noise=0.0)", small.describe());
  }

  @Test
  void shouldRejectShapesOptionsOutOfRange() {
    assertOneProblem("{type: shapes, channels: 2}", "data.train.channels");
    assertOneProblem("{type: shapes, classes: 11}", "data.train.classes");
    assertOneProblem("{type: shapes, height: 4}", "data.train.height");
    assertOneProblem("{type: shapes, path: x}", "path");
  }

  private static void writeRecords(final Path file, final int records, final int recordBytes)
      throws IOException {
    Files.write(file, new byte[records * recordBytes]);
  }

  @Test
  void shouldReadCifarSplitsFromAPathRelativeToTheConfig() throws IOException {
    final Path ten = Files.createDirectories(dir.resolve("cifar-10-batches-bin"));
    for (int i = 1; i <= 5; i++) {
      writeRecords(ten.resolve("data_batch_" + i + ".bin"), 2, 3073);
    }
    writeRecords(ten.resolve("test_batch.bin"), 3, 3073);
    final DatasetSpec train = parse("{type: cifar10, path: cifar-10-batches-bin}").data().train();
    assertEquals("train", train.split());
    assertEquals(10, DatasetFactory.create(train, dir).size());
    final Dataset test =
        DatasetFactory.create(
            parse("{type: cifar10, path: cifar-10-batches-bin, split: test}").data().train(), dir);
    assertEquals(3, test.size());
    assertEquals(10, test.numClasses());
    final Dataset first =
        DatasetFactory.create(
            parse("{type: cifar10, path: cifar-10-batches-bin, size: 7}").data().train(), dir);
    assertEquals(7, first.size());

    final Path hundred = Files.createDirectories(dir.resolve("cifar-100-binary"));
    writeRecords(hundred.resolve("train.bin"), 4, 3074);
    writeRecords(hundred.resolve("test.bin"), 1, 3074);
    final DatasetSpec fine = parse("{type: cifar100, path: cifar-100-binary}").data().train();
    assertEquals("fine", fine.labels());
    assertEquals(100, DatasetFactory.create(fine, dir).numClasses());
    final Dataset coarse =
        DatasetFactory.create(
            parse("{type: cifar100, path: cifar-100-binary, labels: coarse, split: test}")
                .data()
                .train(),
            dir);
    assertEquals(20, coarse.numClasses());
    assertEquals(1, coarse.size());
  }

  @Test
  void shouldNameTheCifarKeyThatIsWrong() {
    assertOneProblem("{type: cifar10}", "data.train.path");
    assertOneProblem("{type: cifar10, path: x, split: validation}", "data.train.split");
    assertOneProblem("{type: cifar10, path: x, labels: coarse}", "labels");
    assertOneProblem("{type: cifar100, path: x, labels: superclass}", "data.train.labels");
    assertOneProblem("{type: cifar100, path: x, size: -1}", "data.train.size");
  }
}
