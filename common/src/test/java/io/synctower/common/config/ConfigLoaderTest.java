package io.synctower.common.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.nn.BnTraining;
import io.synctower.common.optim.OptimizerSpec;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

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
    // Run configs are in configs/, configs/seeds/ and configs/bench/ (configs/k8s holds
    // Kubernetes manifests).
    final java.nio.file.Path configs = java.nio.file.Path.of("..", "configs");
    try (var list =
        java.util.stream.Stream.of(configs, configs.resolve("seeds"), configs.resolve("bench"))
            .flatMap(
                d -> {
                  try {
                    return java.nio.file.Files.list(d);
                  } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                  }
                })) {
      files = list.filter(p -> p.toString().endsWith(".yaml")).sorted().toList();
    }
    assertTrue(files.size() >= 7, files::toString);
    for (final java.nio.file.Path file : files) {
      final RunConfig original = ConfigLoader.load(file, Map.of("towers", "3"));
      final String yaml = ConfigLoader.toYaml(original);
      final RunConfig back = ConfigLoader.parse(yaml, "resolved " + file, Map.of());
      final Map<String, Object> expected = new java.util.LinkedHashMap<>(original.resolved());
      final Map<String, Object> actual = new java.util.LinkedHashMap<>(back.resolved());
      // Identical, the record of defaulted settings included (every value is explicit there).
      assertEquals(ConfigLoader.toYaml(back), yaml, file.toString());
      assertEquals(3, back.towers());
      assertEquals(expected.keySet(), actual.keySet());
    }
  }

  @Test
  @SuppressWarnings("unchecked")
  void defaultedSettingsAreRecordedAndSurviveAReadBackUntilAnOverrideChangesThem() {
    final RunConfig c = parse(VALID.replace("training:", "bn:\n  decay: 0.9\ntraining:"));
    final Map<String, Object> optimizer =
        (Map<String, Object>) ((Map<String, Object>) c.resolved().get("training")).get("optimizer");
    final Map<String, Object> bn = (Map<String, Object>) c.resolved().get("bn");
    assertEquals(List.of("lr", "rho", "epsilon", "weightDecay"), optimizer.get("defaulted"));
    assertEquals(List.of("epsilon"), bn.get("defaulted"), "decay was given");

    // Read back, every value is written out, yet the record stays.
    final String yaml = ConfigLoader.toYaml(c);
    assertEquals(yaml, ConfigLoader.toYaml(ConfigLoader.parse(yaml, "config.yaml", Map.of())));
    // An override that changes a defaulted value drops it from the record.
    final RunConfig changed =
        ConfigLoader.parse(yaml, "config.yaml", Map.of("training.optimizer.lr", "0.5"));
    final Map<String, Object> changedOptimizer =
        (Map<String, Object>)
            ((Map<String, Object>) changed.resolved().get("training")).get("optimizer");
    assertEquals(List.of("rho", "epsilon", "weightDecay"), changedOptimizer.get("defaulted"));
    assertTrue(c.doctor(), "the doctor's summary is on by default");
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
    assertEquals(new RunConfig.Checkpointing(0, 10.0, 3), c.checkpoint());
    assertEquals(
        new RunConfig.Failure(false, 3, RunConfig.NonFinitePolicy.STOP, Duration.ofSeconds(10)),
        c.failure());
    assertFalse(c.training().allowEmptyShards());
  }

  @Test
  void resolvedConfigShowsTheCheckpointAndFailureDefaults() {
    final String yaml = ConfigLoader.toYaml(parse(VALID));
    for (final String line :
        List.of(
            "checkpoint:\n  every:\n    steps: 0\n    minutes: 10.0\n  keep: 3\n",
            "failure:\n  elastic: false\n  maxRestarts: 3\n  onNonFinite: stop\n"
                + "  stepDeadline: 10s\n",
            "  allowEmptyShards: false\n")) {
      assertTrue(yaml.contains(line), () -> "'" + line + "' missing in\n" + yaml);
    }
  }

  @Test
  void checkpointAndFailureSettingsAreReadAndReadBack() {
    final String text =
        VALID
            + """
            checkpoint:
              every: {steps: 500, minutes: 0}
              keep: 1
            failure:
              elastic: true
              maxRestarts: 0
              onNonFinite: SKIP
              stepDeadline: 120s
            """;
    final RunConfig c = parse(text);
    assertEquals(new RunConfig.Checkpointing(500, 0.0, 1), c.checkpoint());
    assertEquals(
        new RunConfig.Failure(true, 0, RunConfig.NonFinitePolicy.SKIP, Duration.ofMinutes(2)),
        c.failure());
    final String yaml = ConfigLoader.toYaml(c);
    assertTrue(yaml.contains("stepDeadline: 2m"), yaml);
    assertTrue(yaml.contains("onNonFinite: skip"), yaml);
    final RunConfig back = ConfigLoader.parse(yaml, "resolved", Map.of());
    assertEquals(c.checkpoint(), back.checkpoint());
    assertEquals(c.failure(), back.failure());
  }

  @ParameterizedTest
  @CsvSource({"500ms, 500", "10s, 10000", "2m, 120000", "1h, 3600000", "' 7s ', 7000"})
  void stepDeadlineTakesTheDocumentedUnits(final String text, final long millis) {
    final RunConfig c = parse(VALID + "failure:\n  stepDeadline: '" + text + "'\n");
    assertEquals(Duration.ofMillis(millis), c.failure().stepDeadline());
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      quoteCharacter = '"',
      value = {
        "10     | '10' (integer)  | 500ms, 10s, 2m or 1h",
        "'10'   | '10'            | 500ms, 10s, 2m or 1h",
        "1.5s   | '1.5s'          | 500ms, 10s, 2m or 1h",
        "10 sec | '10 sec'        | 500ms, 10s, 2m or 1h",
        "5d     | '5d'            | 500ms, 10s, 2m or 1h",
        "-5s    | -5s             | at least 1ms",
        "0ms    | 0s              | at least 1ms",
      })
  void badDurationsNameTheKeyTheValueAndTheAcceptedForms(
      final String value, final String shown, final String fix) {
    assertOneProblemContaining(
        VALID + "failure:\n  stepDeadline: " + value + "\n", "failure.stepDeadline", shown, fix);
  }

  @Test
  void impossibleCheckpointAndFailureValuesNameKeyValueAndFix() {
    assertOneProblemContaining(
        VALID + "checkpoint:\n  keep: 0\n", "checkpoint.keep", "0 is out of range", "[1, ");
    assertOneProblemContaining(
        VALID + "checkpoint:\n  every: {steps: -1}\n",
        "checkpoint.every.steps",
        "-1 is out of range",
        "[0, inf]");
    assertOneProblemContaining(
        VALID + "checkpoint:\n  every: {minutes: -0.5}\n",
        "checkpoint.every.minutes",
        "-0.5 is out of range");
    assertOneProblemContaining(
        VALID + "failure:\n  maxRestarts: -1\n", "failure.maxRestarts", "-1", "[0, ");
    assertOneProblemContaining(
        VALID + "failure:\n  onNonFinite: ignore\n",
        "failure.onNonFinite",
        "'ignore'",
        "[skip, stop]");
    assertOneProblemContaining(
        VALID + "failure:\n  elastic: 1\n", "failure.elastic", "'1'", "true or false");
    assertOneProblemContaining(
        VALID + "checkpoint:\n  kepp: 2\n", "checkpoint.kepp", "unknown key", "'keep'");
    assertOneProblemContaining(
        VALID + "checkpoint:\n  every: 5\n", "checkpoint.every", "expected a mapping");
  }

  @Test
  void batchSizeMustBePositive() {
    assertOneProblemContaining(
        VALID.replace("batchSize: 8", "batchSize: 0"), "training.batchSize", "0 is out of range");
    assertOneProblemContaining(
        VALID.replace("batchSize: 8", "batchSize: -4"),
        "training.batchSize",
        "-4 is out of range",
        "[1, ");
    assertOneProblemContaining(
        VALID.replace("batchSize: 8", "batchSize: \"big\""),
        "training.batchSize",
        "expected an integer",
        "'big'");
  }

  @Test
  void moreTowersThanSamplesPerBatchNeedAllowEmptyShards() {
    final String fiveTowers = VALID.replace("batchSize: 8", "batchSize: 4") + "towers: 5\n";
    assertOneProblemContaining(
        fiveTowers,
        "towers: 5 towers > training.batchSize 4",
        "1 tower(s) without samples",
        "training.batchSize to at least 5",
        "towers to at most 4",
        "training.allowEmptyShards: true");
    // With or without SyncBN: the rule is about shards, not statistics.
    assertOneProblemContaining(fiveTowers + "bn: {sync: true}\n", "allowEmptyShards");
    final RunConfig allowed =
        parse(fiveTowers.replace("batchSize: 4", "batchSize: 4\n  allowEmptyShards: true"));
    assertEquals(5, allowed.towers());
    assertTrue(allowed.training().allowEmptyShards());
    assertEquals(4, parse(VALID.replace("batchSize: 8", "batchSize: 4") + "towers: 4\n").towers());
  }

  @Test
  void reshapeDimensionsMustBePositive() {
    assertOneProblemContaining(
        VALID.replace("{type: relu}", "{type: reshape, shape: [0, 62]}"),
        "model.layers[2].shape",
        "[0, 62]",
        ">= 1");
  }

  @Test
  void everyProblemOfTheNewKeysIsReportedAtOnceWithTheOthers() {
    final String text =
        VALID.replace("batchSize: 8", "batchSize: 2\n  epohcs: 3")
            + """
            towers: 3
            bn: {sync: true, syncGroupSize: 2}
            checkpoint: {keep: 0}
            failure: {stepDeadline: soon, onNonFinite: abort}
            """;
    final List<String> problems = problems(text);
    final List<List<String>> expected =
        List.of(
            List.of("bn.syncGroupSize", "2 does not divide towers=3", "divisor"),
            List.of("training.epohcs", "unknown key", "'epochs'"),
            List.of("checkpoint.keep", "0", "[1, "),
            List.of("failure.onNonFinite", "'abort'", "[skip, stop]"),
            List.of("failure.stepDeadline", "'soon'", "500ms, 10s, 2m or 1h"),
            List.of("towers: 3 towers > training.batchSize 2", "allowEmptyShards: true"));
    assertEquals(expected.size(), problems.size(), problems.toString());
    for (final List<String> parts : expected) {
      assertTrue(
          problems.stream().anyMatch(p -> parts.stream().allMatch(p::contains)),
          () -> parts + " missing in " + problems);
    }
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

  @Test
  void preciseBnIsOffByDefaultAndTakesAPositiveBatchCount() {
    assertEquals(0, ConfigLoader.parse(VALID, "test.yaml", Map.of()).bn().preciseBatches());
    assertEquals(
        50,
        ConfigLoader.parse(VALID + "bn:\n  preciseBatches: 50\n", "test.yaml", Map.of())
            .bn()
            .preciseBatches());
    assertOneProblemContaining(
        VALID + "bn:\n  preciseBatches: -1\n", "bn.preciseBatches", "-1", "[0, 1000000]");
    assertOneProblemContaining(VALID + "bn:\n  precise: 50\n", "precise", "preciseBatches");
  }

  @Test
  void keysThatAreNotTextAreNamedWhereTheyAre() {
    assertOneProblemContaining(
        VALID + "1: 2\n", "the top level: the key '1' (integer) is not a name");
    assertOneProblemContaining(VALID + "~: 3\n", "the top level: the key ~ (null");
    assertOneProblemContaining(
        VALID + "bn:\n  ? [a, b]\n  : c\n", "bn: a list used as a key is not a name");
    assertOneProblemContaining(
        VALID + "bn:\n  ? {a: 1}\n  : c\n", "bn: a mapping used as a key is not a name");
    assertOneProblemContaining(
        VALID.replace("{type: relu}", "{type: relu, 1.5: 2}"),
        "model.layers[2]: the key '1.5' (double) is not a name");
  }

  @Test
  void aDuplicateKeyIsRefusedWithItsLine() {
    // VALID has 13 lines; the second seed is line 15
    assertOneProblemContaining(
        VALID + "seed: 1\nseed: 2\n", "key 'seed' is given twice", "again at line 15");
    assertOneProblemContaining(
        VALID.replace("batchSize: 8", "batchSize: 8\n  batchSize: 9"),
        "key 'batchSize' is given twice");
  }

  @Test
  void aDuplicateKeyIsNamedWithBothLines() {
    assertOneProblemContaining(
        VALID + "seed: 1\nseed: 2\n",
        "key 'seed' is given twice",
        "(first at line 14, again at line 15)");
    final int batchLine =
        (int)
                VALID
                    .substring(0, VALID.indexOf("batchSize: 8"))
                    .chars()
                    .filter(c -> c == '\n')
                    .count()
            + 1;
    assertOneProblemContaining(
        VALID.replace("batchSize: 8", "batchSize: 8\n  lr: 0.1\n  batchSize: 9"),
        "key 'batchSize' is given twice",
        "(first at line " + batchLine + ", again at line " + (batchLine + 2) + ")");
    // The same key in two different mappings is fine; in a flow mapping both are on one line.
    assertOneProblemContaining(
        VALID + "extra:\n  - {a: 1, b: {a: 2}}\n  - {c: 1, c: 2}\n",
        "key 'c' is given twice",
        "(first at line 16, again at line 16)");
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "seed|[1|override seed=[1: the value is not valid YAML",
        "seed||override seed=: no value; to use the default of seed, drop this override",
        "seed|~|override seed=~: no value",
        "training..lr|1|is not a key",
        ".|1|is not a key",
        "bn.decay|{a: 1, a: 2}|key 'a' is given twice",
        "bn|{1: 2}|override bn={1: 2}: bn: the key '1' (integer) is not a name"
      })
  void badOverridesAreNamed(final String key, final String value, final String expected) {
    final List<String> problems =
        assertThrows(
                ConfigException.class,
                () ->
                    ConfigLoader.parse(VALID, "test.yaml", Map.of(key, value == null ? "" : value)))
            .problems();
    assertTrue(problems.stream().anyMatch(p -> p.contains(expected)), problems::toString);
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "[0.2, 0, 0.2]|data.std: std[1] (channel 1) is 0.0",
        "[0.2, -1, 0.2]|std[1] (channel 1) is -1.0",
        "[0.2, .inf, 0.2]|std[1] (channel 1) is Infinity",
        "[0.2, .nan, 0.2]|std[1] (channel 1) is NaN",
        "[0.2, 1.0e-60, 0.2]|std[1] (channel 1) is 1.0E-60"
      })
  void aStdThatIsNotPositiveAndFiniteIsNamedWithItsIndex(final String std, final String expected) {
    assertOneProblemContaining(
        VALID.replace(
            "  train: {type: overfit, size: 10}",
            "  train: {type: overfit, size: 10}\n  normalize: values\n  mean: [0, 0, 0]\n  std: "
                + std),
        expected,
        "finite number > 0");
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "../../x|contains a path separator",
        "a/b|contains a path separator",
        "'a\\b'|contains a path separator",
        "..|is a relative path",
        "\"\"|is empty",
        "\"a\\tb\"|contains a control character",
        "\"a\\0b\"|contains a NUL byte"
      })
  void aNameMustBeAPlainDirectoryName(final String name, final String expected) {
    assertOneProblemContaining(VALID.replace("name: t", "name: " + name), "name: ", expected);
  }

  @Test
  void aNulByteInAnyTextIsNamed() {
    assertOneProblemContaining(
        VALID.replace("{type: overfit, size: 10}", "{type: npz, path: \"a\\0.npz\"}"),
        "data.train.path: contains a NUL byte");
  }

  @Test
  void aWrongLearningRateIsTheOnlyProblem() {
    assertOneProblemContaining(
        VALID.replace("{type: adadelta}", "{type: adam, lr: -1}"),
        "training.optimizer.lr: -1.0 is out of range");
    assertOneProblemContaining(
        VALID.replace("{type: adadelta}", "{type: sgd, lr: -1}"),
        "training.optimizer.lr: -1.0 is out of range");
  }
}
