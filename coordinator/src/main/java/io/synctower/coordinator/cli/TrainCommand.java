package io.synctower.coordinator.cli;

import io.synctower.common.config.RunConfig;
import io.synctower.coordinator.train.Trainer;
import io.synctower.coordinator.train.TrainingData;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code synctower train}. */
@Command(
    name = "train",
    mixinStandardHelpOptions = true,
    description = {
      "Train a model. With no options, trains the embedded quick start (synthetic captcha).",
      "Writes config.yaml (resolved, every default filled in) and metrics.csv to the run directory."
    })
final class TrainCommand implements Callable<Integer> {
  @Mixin ConfigOptions configOptions = new ConfigOptions();

  @Option(names = "--epochs", description = "Number of epochs (overrides training.epochs).")
  Integer epochs;

  @Option(
      names = "--steps",
      paramLabel = "N",
      description = "Stop after N optimizer steps (overrides training.steps).")
  Long steps;

  @Option(
      names = "--init-weights",
      paramLabel = "W.npz",
      description = "Initial weights in PyTorch layout and naming (<layer>.weight, ...).")
  Path initWeights;

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

  @Override
  public Integer call() throws Exception {
    final Map<String, String> extra = new LinkedHashMap<>();
    if (epochs != null) {
      extra.put("training.epochs", epochs.toString());
    }
    if (steps != null) {
      extra.put("training.steps", steps.toString());
    }
    final RunConfig config = configOptions.load(extra);
    final Path dir =
        runDir != null
            ? runDir
            : Path.of(
                "runs",
                config.name()
                    + "-"
                    + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
    final TrainingData data = TrainingData.load(config, configOptions.base());
    final Trainer trainer =
        new Trainer(config, data, new Trainer.Options(dir, !noProgress, System.out));
    if (initWeights != null) {
      WeightFiles.load(trainer.model(), initWeights);
    }
    final Trainer.Summary summary = trainer.run();
    if (exportWeights != null) {
      WeightFiles.save(trainer.model(), exportWeights);
      System.out.println("weights written to " + exportWeights);
    }
    System.out.println("run directory: " + dir + " (" + summary.steps() + " steps)");
    return 0;
  }
}
