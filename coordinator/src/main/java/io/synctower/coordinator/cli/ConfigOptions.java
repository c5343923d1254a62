package io.synctower.coordinator.cli;

import io.synctower.common.config.ConfigLoader;
import io.synctower.common.config.RunConfig;
import io.synctower.coordinator.train.MemoryLimit;
import io.synctower.coordinator.train.Preflight;
import io.synctower.worker.assembly.TrainingData;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Option;

/** The options every command that reads a run configuration shares. */
final class ConfigOptions {
  static final String QUICKSTART = "/io/synctower/coordinator/quickstart.yaml";

  @Option(
      names = "--config",
      paramLabel = "FILE",
      description =
          "Run configuration (YAML). Default: the embedded quick start (configs/quickstart.yaml):"
              + " a small synthetic captcha task, no downloads.")
  Path config;

  @Option(
      names = "--set",
      paramLabel = "KEY=VALUE",
      description =
          "Override any configuration key, e.g. --set training.optimizer.lr=0.5 (repeatable)."
              + " Validated like the file's own values.")
  Map<String, String> set = new LinkedHashMap<>();

  @Option(names = "--seed", description = "Run seed (data order, initialization, dropout).")
  Long seed;

  @Option(names = "--towers", description = "Number of towers (default: the config's, 1).")
  Integer towers;

  /** The command line's overrides (--set, --seed, --towers, then the command's own flags). */
  Map<String, String> overrides(final Map<String, String> extra) {
    final Map<String, String> overrides = new LinkedHashMap<>(set);
    if (seed != null) {
      overrides.put("seed", seed.toString());
    }
    if (towers != null) {
      overrides.put("towers", towers.toString());
    }
    overrides.putAll(extra);
    return overrides;
  }

  /** Loads the configuration with the given extra overrides (command-specific flags). */
  RunConfig load(final Map<String, String> extra) {
    final Map<String, String> overrides = overrides(extra);
    if (config != null) {
      return ConfigLoader.load(config, overrides);
    }
    try (InputStream in = ConfigOptions.class.getResourceAsStream(QUICKSTART)) {
      if (in == null) {
        throw new IllegalStateException("the embedded quick-start config is missing from the jar");
      }
      return ConfigLoader.parse(
          new String(in.readAllBytes(), StandardCharsets.UTF_8), source(), overrides);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A configuration and its datasets that passed {@link Preflight}: safe to start towers for. */
  record Checked(RunConfig config, TrainingData data) {}

  /**
   * Loads the configuration (its own problems reported all at once), then its datasets, then runs
   * {@link Preflight} (shape, label and batch problems all at once). Commands that train call this
   * before they start any process or tower.
   */
  Checked loadChecked(final Map<String, String> extra) {
    return loadChecked(extra, true);
  }

  /**
   * {@link #loadChecked(Map)} for commands whose towers run in this JVM ({@code inProcessTowers}:
   * all of them must fit its memory) or in worker processes (one replica here; each worker is
   * checked against this JVM's limit as a lower bound).
   */
  Checked loadChecked(final Map<String, String> extra, final boolean inProcessTowers) {
    final RunConfig config = load(extra);
    final TrainingData data = TrainingData.load(config, base());
    Preflight.check(
        config, data, source(), inProcessTowers ? config.towers() : 1, MemoryLimit.current());
    return new Checked(config, data);
  }

  /** How errors name the configuration: its file, or the embedded quick start. */
  String source() {
    return config != null ? config.toString() : "embedded quickstart.yaml";
  }

  /** Directory that relative data paths resolve against: the config file's folder. */
  Path base() {
    return config == null ? Path.of(".") : config.toAbsolutePath().getParent();
  }
}
