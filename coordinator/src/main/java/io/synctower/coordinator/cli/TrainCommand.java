package io.synctower.coordinator.cli;

import io.synctower.common.checkpoint.ImportOptions;
import io.synctower.common.checkpoint.ImportReport;
import io.synctower.common.checkpoint.WeightLayout;
import io.synctower.common.checkpoint.WeightsFile;
import io.synctower.common.config.RunConfig;
import io.synctower.coordinator.train.Trainer;
import io.synctower.coordinator.train.TrainingData;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
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
      description = {
        "Initial weights (.npz, e.g. np.savez(f, **state_dict)). Strict by default: every model",
        "tensor must be in the file and every file key in the model; otherwise the error lists",
        "missing, unexpected (with the nearest valid key) and mis-shaped keys."
      })
  Path initWeights;

  @Option(
      names = "--init-layers",
      paramLabel = "LAYER",
      split = ",",
      description = {
        "Load only these layers from --init-weights (e.g. a pretrained backbone);",
        "file keys of other layers are skipped, the other layers keep their initialization."
      })
  List<String> initLayers = List.of();

  @Option(
      names = "--init-partial",
      description = {
        "Non-strict --init-weights (like PyTorch load_state_dict(strict=False)): missing tensors",
        "keep their initialization and unknown keys are skipped; both are listed."
      })
  boolean initPartial;

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
    try (Trainer trainer =
        new Trainer(config, data, new Trainer.Options(dir, !noProgress, System.out))) {
      return train(trainer, dir);
    }
  }

  private int train(final Trainer trainer, final Path dir) throws InterruptedException {
    if (initWeights != null) {
      final ImportReport report =
          trainer.initializeReplicas(
              model ->
                  WeightsFile.load(
                      model,
                      initWeights,
                      weightsLayout,
                      new ImportOptions(!initPartial, Set.copyOf(initLayers))));
      printImport(report);
    }
    final Trainer.Summary summary = trainer.run();
    if (exportWeights != null) {
      WeightsFile.save(trainer.model(), exportWeights, weightsLayout);
      System.out.println("weights written to " + exportWeights);
    }
    System.out.println("run directory: " + dir + " (" + summary.steps() + " steps)");
    return 0;
  }

  private void printImport(final ImportReport report) {
    System.out.printf(
        "initial weights from %s: %d tensors loaded%n", initWeights, report.loaded().size());
    printList("  kept their initialization (not in the file)", report.missing());
    printList("  skipped (no such tensor in the model)", report.unexpected());
    printList("  skipped (outside --init-layers)", report.skipped());
    printList("  ignored (not model state)", report.ignored());
  }

  private static void printList(final String what, final List<String> keys) {
    if (!keys.isEmpty()) {
      System.out.println(what + ": " + String.join(", ", keys));
    }
  }
}
