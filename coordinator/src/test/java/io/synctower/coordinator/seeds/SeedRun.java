package io.synctower.coordinator.seeds;

import io.synctower.common.config.ConfigLoader;
import io.synctower.common.config.RunConfig;
import io.synctower.coordinator.train.Trainer;
import io.synctower.worker.assembly.TrainingData;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * One of the runnable seed examples in {@code configs/seeds/}, loaded exactly as {@code
 * bin/synctower train --config configs/seeds/FILE --set key=value ...} loads it, and trained in
 * this JVM (towers as threads) with its run log captured. The tests shrink a seed with overrides
 * (fewer samples, fewer steps, float64) and never copy its model: a changed config is tested as
 * changed.
 *
 * <pre>{@code
 * SeedRun run = SeedRun.of("001-overfit-256.yaml", Map.of("training.steps", "3"), runDir);
 * try (Trainer trainer = run.trainer()) {
 *   Trainer.Summary summary = trainer.run();
 * }
 * run.log(); // what the CLI would have printed
 * }</pre>
 */
final class SeedRun {
  private final RunConfig config;
  private final Path runDir;
  private final ByteArrayOutputStream log = new ByteArrayOutputStream();

  private SeedRun(final RunConfig config, final Path runDir) {
    this.config = config;
    this.runDir = runDir;
  }

  /** The seed config {@code file} with {@code overrides}; the run writes into {@code runDir}. */
  static SeedRun of(final String file, final Map<String, String> overrides, final Path runDir) {
    return new SeedRun(ConfigLoader.load(seedsDirectory().resolve(file), quiet(overrides)), runDir);
  }

  /**
   * The seed config {@code file} with its one occurrence of {@code from} replaced by {@code to},
   * for what {@code --set} cannot reach (an element of the layer list), e.g. the output layer of a
   * model trained on a subset with fewer classes.
   */
  static SeedRun edited(
      final String file,
      final String from,
      final String to,
      final Map<String, String> overrides,
      final Path runDir)
      throws java.io.IOException {
    final String text = Files.readString(seedsDirectory().resolve(file));
    final int at = text.indexOf(from);
    if (at < 0 || text.indexOf(from, at + 1) >= 0) {
      throw new IllegalStateException(file + " must contain '" + from + "' exactly once");
    }
    final String source = file + " with " + to;
    return new SeedRun(
        ConfigLoader.parse(text.replace(from, to), source, quiet(overrides)), runDir);
  }

  private static Map<String, String> quiet(final Map<String, String> overrides) {
    final Map<String, String> all = new HashMap<>(overrides);
    // The build machine is shared: a step slowed down by other processes is not a stalled tower,
    // and stall detection is not what these tests are about.
    all.putIfAbsent("failure.stepDeadline", "10m");
    return all;
  }

  /** {@code configs/seeds} of this checkout, found from the module the tests run in. */
  static Path seedsDirectory() {
    for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
      final Path seeds = p.resolve("configs").resolve("seeds");
      if (Files.isDirectory(seeds) && Files.isRegularFile(p.resolve("pom.xml"))) {
        return seeds;
      }
    }
    throw new IllegalStateException("no configs/seeds above " + Path.of("").toAbsolutePath());
  }

  RunConfig config() {
    return config;
  }

  /** A trainer for this run (its towers start now; close it). */
  Trainer trainer() throws InterruptedException {
    final TrainingData data = TrainingData.load(config, seedsDirectory());
    final PrintStream out = new PrintStream(log, true, StandardCharsets.UTF_8);
    return new Trainer(config, data, new Trainer.Options(runDir, false, out, seedsDirectory()));
  }

  /** Trains to the end and returns the summary. */
  Trainer.Summary train() throws InterruptedException {
    try (Trainer trainer = trainer()) {
      return trainer.run();
    }
  }

  /** Everything the run printed so far. */
  String log() {
    return log.toString(StandardCharsets.UTF_8);
  }

  Path runDir() {
    return runDir;
  }
}
