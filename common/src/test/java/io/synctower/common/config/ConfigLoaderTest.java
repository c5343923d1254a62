package io.synctower.common.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.bn.BnTraining;
import io.synctower.common.optim.OptimizerSpec;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Strict config reading: every problem at once, each naming the key, the value and the fix. */
class ConfigLoaderTest {
  private static final String VALID =
      """
      name: t
      model:
        layers:
          - {type: conv2d, filters: 4, kernel: 3}
          - {type: batchnorm}
          - {type: relu}
          - {type: flatten}
          - {type: dense, units: 10}
      data:
        train: {type: overfit, size: 10}
      training:
        batchSize: 8
        optimizer: {type: adadelta}
      """;

  private static RunConfig parse(final String text) {
    return ConfigLoader.parse(text, "test.yaml", Map.of());
  }

  private static List<String> problems(final String text) {
    return assertThrows(ConfigException.class, () -> parse(text)).problems();
  }

  private static void assertOneProblemContaining(final String text, final String... parts) {
    final List<String> problems = problems(text);
    assertEquals(1, problems.size(), problems.toString());
    for (final String part : parts) {
      assertTrue(problems.get(0).contains(part), () -> "'" + part + "' missing in " + problems);
    }
  }

  @Test
  void resolvedConfigReadsBackIntoTheSameRun() throws Exception {
    final java.util.List<java.nio.file.Path> files;
    try (var list = java.nio.file.Files.list(java.nio.file.Path.of("..", "configs"))) {
      files = list.filter(p -> p.toString().endsWith(".yaml")).sorted().toList();
    }
    assertTrue(files.size() >= 4, files::toString);
    for (final java.nio.file.Path file : files) {
      final RunConfig original = ConfigLoader.load(file, Map.of("towers", "3"));
      final String yaml = ConfigLoader.toYaml(original);
      final RunConfig back = ConfigLoader.parse(yaml, "resolved " + file, Map.of());
      final Map<String, Object> expected = new java.util.LinkedHashMap<>(original.resolved());
      final Map<String, Object> actual = new java.util.LinkedHashMap<>(back.resolved());
      // Only the informational list of defaulted optimizer settings may differ: read back, every
      // setting is explicit.
      assertEquals(
          ConfigLoader.toYaml(back).replaceAll("(?m)^\\s*defaulted:.*\\n(\\s*- .*\\n)*", ""),
          yaml.replaceAll("(?m)^\\s*defaulted:.*\\n(\\s*- .*\\n)*", ""),
          file.toString());
      assertEquals(3, back.towers());
      assertEquals(expected.keySet(), actual.keySet());
    }
  }

  @Test
  void validConfigResolvesDocumentedDefaults() {
    final RunConfig c = parse(VALID);
    assertEquals(42L, c.seed());
    assertEquals(1, c.towers());
    assertEquals(0.99, c.bn().decay());
    assertEquals(1e-3, c.bn().epsilon());
    assertEquals(BnTraining.LOCAL, c.bn().training());
    assertEquals(10, c.training().epochs());
    assertEquals(8, c.training().evalBatchSize(), "evalBatchSize defaults to batchSize");
    final OptimizerSpec adadelta = c.training().optimizer();
    assertEquals(1.0, adadelta.lr(), "Keras 2 / TF 1.x Adadelta default, stated in the README");
    assertTrue(adadelta.defaulted().contains("lr"), "a defaulted lr is reported as such");
  }

  @Test
  void unknownKeyNamesTheNearestValidOne() {
    assertOneProblemContaining(
        VALID.replace("batchSize: 8", "batchSize: 8\n  epoch: 3"), "epoch", "'epochs'");
    assertOneProblemContaining(
        VALID.replace("{type: relu}", "{type: relu, fliters: 3}"), "fliters");
  }

  @Test
  void momentumUnderBnIsRejectedWithBothConventions() {
    final String text = VALID + "bn:\n  momentum: 0.1\n";
    assertOneProblemContaining(text, "bn.momentum", "decay", "PyTorch momentum 0.1 == decay 0.9");
    assertOneProblemContaining(
        VALID.replace("{type: batchnorm}", "{type: batchnorm, momentum: 0.99}"),
        "momentum",
        "Keras");
  }

  @Test
  void wrongTypesAndImpossibleValuesNameKeyAndValue() {
    assertOneProblemContaining(VALID.replace("batchSize: 8", "batchSize: eight"), "batchSize");
    assertOneProblemContaining(VALID.replace("batchSize: 8", "batchSize: -1"), "batchSize", "-1");
    assertOneProblemContaining(VALID.replace("{type: relu}", "{type: rellu}"), "rellu", "'relu'");
  }

  @Test
  void everyProblemIsReportedAtOnce() {
    final String text =
        VALID
                .replace("batchSize: 8", "batchSize: 0\n  epochz: 2")
                .replace("{type: adadelta}", "{type: sgd}")
            + "bn:\n  decay: 1.5\n";
    final List<String> problems = problems(text);
    assertEquals(4, problems.size(), problems.toString());
    final String all = String.join("\n", problems);
    for (final String key : List.of("batchSize", "epochz", "lr", "decay")) {
      assertTrue(all.contains(key), () -> key + " missing in " + all);
    }
  }

  @Test
  void overridesAreCheckedLikeTheFile() {
    final RunConfig c =
        ConfigLoader.parse(VALID, "test.yaml", Map.of("training.optimizer.lr", "0.5"));
    assertEquals(0.5, c.training().optimizer().lr());
    final ConfigException e =
        assertThrows(
            ConfigException.class,
            () -> ConfigLoader.parse(VALID, "test.yaml", Map.of("training.batchSiz", "4")));
    assertTrue(e.getMessage().contains("batchSize"), e.getMessage());
  }

  @Test
  void syncOptionsThatContradictEachOtherAreRejected() {
    assertOneProblemContaining(VALID + "bn:\n  syncGroupSize: 2\n", "syncGroupSize", "sync");
    assertOneProblemContaining(
        VALID + "bn:\n  sync: true\n  ghostBatch: 4\n", "ghostBatch", "exclude");
    assertOneProblemContaining(
        VALID + "towers: 4\nbn:\n  sync: true\n  syncGroupSize: 3\n",
        "syncGroupSize",
        "does not divide towers=4");
  }
}
