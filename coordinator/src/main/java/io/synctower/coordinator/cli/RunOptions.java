package io.synctower.coordinator.cli;

import io.synctower.common.checkpoint.WeightLayout;
import io.synctower.common.config.ConfigException;
import io.synctower.common.config.ConfigLoader;
import io.synctower.common.config.RunConfig;
import io.synctower.coordinator.train.RunDirectory;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Option;

/** Options of every command that runs a training (train, launch, coordinator). */
final class RunOptions {
  @Option(names = "--epochs", description = "Number of epochs (overrides training.epochs).")
  Integer epochs;

  @Option(
      names = "--steps",
      paramLabel = "N",
      description = "Stop after N optimizer steps (overrides training.steps).")
  Long steps;

  @Option(
      names = "--weights-layout",
      paramLabel = "LAYOUT",
      defaultValue = "PYTORCH",
      description = {
        "Layout of --init-weights and --export-weights, case-insensitive: ${COMPLETION-CANDIDATES}",
        "(default ${DEFAULT-VALUE}). pytorch: conv [out,in,kh,kw], dense [out,in], BN weight/bias/",
        "running_mean/running_var. keras: conv [kh,kw,in,out], dense [in,out] with rows in",
        "(H,W,C) order after a flatten, BN gamma/beta/moving_mean/moving_variance."
      })
  WeightLayout weightsLayout;

  @Option(
      names = "--export-weights",
      paramLabel = "OUT.npz",
      description = "Write the trained weights (PyTorch layout and naming) here.")
  Path exportWeights;

  @Option(
      names = "--run-dir",
      paramLabel = "DIR",
      description = "Run directory (default: runs/<name>-<timestamp>).")
  Path runDir;

  @Option(
      names = "--overwrite",
      description = {
        "Start a new run in a --run-dir that holds an earlier run: its files (checkpoints,",
        "config.yaml, logs) are deleted first. Refused for a directory that holds anything else."
      })
  boolean overwrite;

  @Option(names = "--no-progress", description = "No progress bar (logs stay clean in CI).")
  boolean noProgress;

  @Option(
      names = "--no-doctor",
      description = "No BN doctor summary after the last epoch (sets doctor: false).")
  boolean noDoctor;

  /** The command-line flags that override configuration keys. */
  Map<String, String> overrides() {
    final Map<String, String> extra = new LinkedHashMap<>();
    if (epochs != null) {
      extra.put("training.epochs", epochs.toString());
    }
    if (steps != null) {
      extra.put("training.steps", steps.toString());
    }
    if (noDoctor) {
      extra.put("doctor", "false");
    }
    return extra;
  }

  /** --run-dir, or runs/NAME-TIMESTAMP (-2, -3... when two runs start in the same second). */
  Path runDir(final RunConfig config) {
    if (runDir != null) {
      return runDir;
    }
    final String base =
        config.name()
            + "-"
            + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
    Path dir = Path.of("runs", base);
    for (int n = 2; Files.exists(dir); n++) {
      dir = Path.of("runs", base + "-" + n);
    }
    return dir;
  }

  /**
   * The new run's directory, owned until closed (see {@link RunDirectory#createNew}), with its
   * config.yaml written; what opening it did is printed. Checks --export-weights too, once the run
   * directory exists (the weights may go into it), so every problem with where the run writes is
   * reported before anything starts; a refused run leaves no directory behind.
   */
  RunDirectory createRunDirectory(final RunConfig config, final PrintStream out) {
    final RunDirectory dir = RunDirectory.createNew(runDir(config), overwrite);
    try {
      checkExportWeights();
      dir.notes().forEach(out::println);
      dir.writeConfig(ConfigLoader.toYaml(config));
      return dir;
    } catch (RuntimeException e) {
      dir.close();
      throw e;
    }
  }

  /**
   * --export-weights is written after training: a path that cannot be written is refused before it
   * starts rather than after.
   */
  void checkExportWeights() {
    if (exportWeights == null) {
      return;
    }
    final Path file = exportWeights.toAbsolutePath().normalize();
    final Path parent = file.getParent();
    final String problem;
    if (Files.isDirectory(file)) {
      problem = " is a directory; give a file name in it, e.g. " + file.resolve("weights.npz");
    } else if (parent == null || !Files.isDirectory(parent)) {
      problem =
          ": its directory " + parent + " does not exist; create it first or give another path";
    } else if (!Files.isWritable(parent)) {
      problem = ": its directory " + parent + " is not writable; give another path";
    } else {
      return;
    }
    throw new ConfigException("--export-weights", List.of(exportWeights + problem));
  }
}
