package io.synctower.coordinator.cli;

import java.nio.file.Path;
import picocli.CommandLine.Option;

/** {@code --resume} and {@code --fallback}, the same for train, launch and coordinator. */
final class ResumeOptions {
  @Option(
      names = "--resume",
      paramLabel = "RUN_DIR",
      description = {
        "Continue the run in RUN_DIR from its latest checkpoint: weights, moving statistics,",
        "optimizer state, data position and metrics so far; losses continue as if never stopped.",
        "Uses the config saved in the checkpoint; --epochs/--steps/--towers/--set may change what",
        "does not define the checkpoint, and --config must describe the same model and data."
      })
  Path dir;

  @Option(
      names = "--fallback",
      description =
          "With --resume: if the latest checkpoint is corrupt, use the newest older one that"
              + " verifies (each skipped checkpoint is listed with the reason).")
  boolean fallback;
}
