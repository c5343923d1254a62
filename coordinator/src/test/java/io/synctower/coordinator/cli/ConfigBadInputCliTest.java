package io.synctower.coordinator.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bad configuration and command-line input, as an attacker fed it to {@code synctower train}: each
 * case ends with {@code error: ...} naming the key and the value, exit code 2, no stack trace, and
 * nothing started (no run directory written).
 */
class ConfigBadInputCliTest {
  private static final String CONFIG = TinyConfig.YAML;

  @TempDir Path dir;

  private Path config(final String text) throws Exception {
    return TinyConfig.write(dir, text);
  }

  /**
   * Runs {@code train --config FILE --steps 1 --run-dir DIR/run ARGS} and checks the common
   * promises: exit 2, one {@code error:} line first, no stack trace, no run directory; then that
   * the message contains every one of {@code parts}. Returns stderr.
   */
  private String refused(final String text, final List<String> args, final String... parts)
      throws Exception {
    final List<String> all = new ArrayList<>();
    all.add("train");
    all.add("--config");
    all.add(config(text).toString());
    all.add("--steps");
    all.add("1");
    all.add("--no-progress");
    all.add("--run-dir");
    all.add(dir.resolve("run").toString());
    all.addAll(args);
    final CliRun r = CliRun.of(all.toArray(String[]::new));
    assertEquals(2, r.code(), r::all);
    assertTrue(r.err().startsWith("error: ") || r.err().contains("\nerror: "), r::all);
    assertFalse(r.all().contains("Exception"), r::all);
    assertFalse(r.all().contains("\tat "), r::all);
    assertFalse(Files.exists(dir.resolve("run")), "nothing may start: " + r.all());
    for (final String part : parts) {
      assertTrue(r.err().contains(part), () -> "'" + part + "' missing in " + r.all());
    }
    return r.err();
  }

  private String refused(final String text, final String... parts) throws Exception {
    return refused(text, List.of(), parts);
  }

  @Test
  void anIntegerKeyIsNamed() throws Exception {
    refused(CONFIG + "1: 2\n", "the top level", "key '1' (integer)", "is not a name");
  }

  @Test
  void aListKeyIsNamedWithItsSection() throws Exception {
    refused(CONFIG + "bn:\n  ? [a, b]\n  : c\n", "bn: a list used as a key", "is not a name");
  }

  @Test
  void aNullKeyIsNamed() throws Exception {
    refused(CONFIG + "~: 3\n", "the key ~ (null", "is not a name");
  }

  @Test
  void aDuplicateKeyIsNamedWithItsLine() throws Exception {
    // CONFIG has 13 lines: the second seed is line 15
    refused(CONFIG + "seed: 1\nseed: 2\n", "key 'seed' is given twice", "line 15");
  }

  @Test
  void anOverrideThatIsNotYamlIsNamed() throws Exception {
    refused(CONFIG, List.of("--set", "seed=[1"), "override seed=[1", "not valid YAML");
  }

  @Test
  void anEmptyOverrideSaysHowToGetTheDefault() throws Exception {
    refused(CONFIG, List.of("--set", "seed="), "override seed=", "drop this override");
  }

  @Test
  void anOverrideKeyWithoutANameIsNamed() throws Exception {
    refused(CONFIG, List.of("--set", ".=3"), "override .=3", "is not a key");
  }

  @Test
  void aZeroStdIsNamedWithItsIndex() throws Exception {
    refused(
        CONFIG.replace(
            "  validationSplit: 0.25",
            "  validationSplit: 0.25\n  normalize: values\n  mean: [0.5, 0.5, 0.5]\n"
                + "  std: [0.2, 0, 0.2]"),
        "data.std",
        "std[1]",
        "0.0",
        "finite number > 0");
  }

  @Test
  void aNormalizationWithTheWrongChannelCountIsRefusedBeforeTraining() throws Exception {
    refused(
        CONFIG.replace(
            "  validationSplit: 0.25",
            "  validationSplit: 0.25\n  normalize: values\n  mean: [0.5]\n  std: [0.2]"),
        "data.mean/data.std: 1 value(s)",
        "3 channel(s)");
  }

  @Test
  void aNulByteInTheNameIsNamed() throws Exception {
    refused(CONFIG.replace("name: cli", "name: \"a\\0b\""), "name: contains a NUL byte");
  }

  @Test
  void aNulByteInADataPathIsNamed() throws Exception {
    refused(
        CONFIG.replace("{type: overfit, size: 16}", "{type: npz, path: \"x\\0.npz\"}"),
        "data.train.path: contains a NUL byte");
  }

  @Test
  void aNulByteInAPathOptionIsNamed() throws Exception {
    final CliRun r = CliRun.of("train", "--config", "c\0.yaml");
    assertEquals(2, r.code(), r::all);
    assertTrue(r.err().contains("--config"), r::all);
    assertFalse(r.all().contains("\tat "), r::all);
  }

  @Test
  void aNameThatIsAPathIsRefused() throws Exception {
    refused(
        CONFIG.replace("name: cli", "name: ../../x"),
        "name: '../../x' contains a path separator",
        "outside runs/");
  }

  @Test
  void anUnknownInitLayerIsNamedWithTheNearestAndTheList() throws Exception {
    refused(
        CONFIG,
        List.of("--init-weights", dir.resolve("w.npz").toString(), "--init-layers", "conv9"),
        "--init-layers conv9",
        "conv9 (did you mean conv1?)",
        "[conv1, bn1, relu1, flatten1, fc1]");
  }

  @Test
  void aNegativeLearningRateIsOneProblem() throws Exception {
    final String err =
        refused(
            CONFIG, List.of("--set", "training.optimizer.lr=-1"), "training.optimizer.lr: -1.0");
    assertTrue(err.contains("1 problem in"), err);
    assertFalse(err.contains("NaN"), err);
  }

  @Test
  void aModelTooLargeForMemoryIsRefusedWithTheFigures() throws Exception {
    // The attack: 16.7M dense units after a wide flatten (13 billion weights) crashed the JVM.
    refused(
        CONFIG.replace(
            "- {type: dense, units: 16}",
            "- {type: dense, units: 16777216}\n    - {type: dense, units: 16}"),
        "model: 1 tower(s) in this process need at least",
        "is available",
        "-Xmx",
        "org.bytedeco.javacpp.maxbytes");
  }
}
