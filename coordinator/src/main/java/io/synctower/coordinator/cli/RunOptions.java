package io.synctower.coordinator.cli;

import io.synctower.common.checkpoint.WeightLayout;
import io.synctower.common.config.RunConfig;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.LinkedHashMap;
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

  /** --run-dir, or runs/NAME-TIMESTAMP. */
  Path runDir(final RunConfig config) {
    return runDir != null
        ? runDir
        : Path.of(
            "runs",
            config.name()
                + "-"
                + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
  }
}
