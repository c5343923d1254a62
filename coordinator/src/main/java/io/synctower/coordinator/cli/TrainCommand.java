package io.synctower.coordinator.cli;

import io.synctower.common.checkpoint.CheckpointStore;
import io.synctower.common.checkpoint.ImportOptions;
import io.synctower.common.checkpoint.ImportReport;
import io.synctower.common.checkpoint.StoredCheckpoint;
import io.synctower.common.checkpoint.WeightsFile;
import io.synctower.common.config.ConfigException;
import io.synctower.common.config.ConfigLoader;
import io.synctower.common.config.RunConfig;
import io.synctower.coordinator.train.Preflight;
import io.synctower.coordinator.train.ResumeCompatibility;
import io.synctower.coordinator.train.RunDirectory;
import io.synctower.coordinator.train.Trainer;
import io.synctower.coordinator.train.TrainerState;
import io.synctower.coordinator.train.TrainingData;
import java.nio.file.Path;
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
      names = "--resume",
      paramLabel = "RUN_DIR",
      description = {
        "Continue the run in RUN_DIR from its latest checkpoint: weights, moving statistics,",
        "optimizer state, data position and metrics so far; losses continue as if never stopped.",
        "Uses the config saved in the checkpoint; --epochs/--steps/--towers/--set may change what",
        "does not define the checkpoint, and --config must describe the same model and data."
      })
  Path resume;

  @Option(
      names = "--fallback",
      description =
          "With --resume: if the latest checkpoint is corrupt, use the newest older one that"
              + " verifies (each skipped checkpoint is listed with the reason).")
  boolean fallback;

  @Mixin RunOptions run = new RunOptions();

  @Override
  public Integer call() throws Exception {
    if (resume != null) {
      return resume();
    }
    final ConfigOptions.Checked checked = configOptions.loadChecked(run.overrides());
    try (RunDirectory dir = run.createRunDirectory(checked.config(), System.out);
        Trainer trainer =
            new Trainer(
                checked.config(),
                checked.data(),
                new Trainer.Options(
                    dir.path(), !run.noProgress, System.out, configOptions.base()))) {
      return train(trainer, dir.path());
    }
  }

  private int resume() throws InterruptedException {
    if (initWeights != null) {
      throw new ConfigException(
          "--init-weights",
          List.of("cannot be combined with --resume: the checkpoint holds the weights"));
    }
    if (run.runDir != null && !run.runDir.equals(resume)) {
      throw new ConfigException(
          "--run-dir",
          List.of("a resumed run writes to its own directory " + resume + "; drop --run-dir"));
    }
    if (run.overwrite) {
      throw new ConfigException(
          "--overwrite",
          List.of(
              "cannot be combined with --resume, which continues the run in "
                  + resume
                  + "; drop --overwrite (or drop --resume to start a new run there)"));
    }
    run.checkExportWeights();
    // Owned before anything is read: a run still writing there would prune under the load.
    try (RunDirectory dir = RunDirectory.openExisting(resume)) {
      dir.notes().forEach(System.out::println);
      for (final String repaired : dir.repairStepLog()) {
        System.out.println("resume: " + repaired);
      }
      return resume(dir.path());
    }
  }

  private int resume(final Path resume) throws InterruptedException {
    final StoredCheckpoint checkpoint =
        new CheckpointStore(resume.resolve("checkpoints")).loadLatest(fallback);
    for (final String skipped : checkpoint.skipped()) {
      System.out.println("resume: skipped " + skipped);
    }
    final String savedText = checkpoint.text("config.yaml");
    final String savedSource = checkpoint.file("config.yaml").toString();
    final RunConfig saved = ConfigLoader.parse(savedText, savedSource, Map.of());
    final TrainerState state =
        TrainerState.parse(
            checkpoint.text("trainer.yaml"), checkpoint.file("trainer.yaml").toString());
    final RunConfig config =
        configOptions.config != null
            ? configOptions.load(run.overrides())
            : ConfigLoader.parse(savedText, savedSource, configOptions.overrides(run.overrides()));
    for (final String change : ResumeCompatibility.check(saved, config)) {
      System.out.println("resume: changed " + change);
    }
    final Path base =
        configOptions.config == null && !state.dataBase().isEmpty()
            ? Path.of(state.dataBase())
            : configOptions.base();
    final TrainingData data = TrainingData.load(config, base);
    Preflight.check(config, data, savedSource);
    try (Trainer trainer =
        new Trainer(config, data, new Trainer.Options(resume, !run.noProgress, System.out, base))) {
      trainer.resumeFrom(checkpoint);
      return finish(trainer, resume, run);
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
                      run.weightsLayout,
                      new ImportOptions(!initPartial, Set.copyOf(initLayers))));
      printImport(report);
    }
    return finish(trainer, dir, run);
  }

  /** Runs the training and writes what the options ask for; shared with launch and coordinator. */
  static int finish(final Trainer trainer, final Path dir, final RunOptions run)
      throws InterruptedException {
    final Trainer.Summary summary = trainer.run();
    if (run.exportWeights != null) {
      WeightsFile.save(trainer.model(), run.exportWeights, run.weightsLayout);
      System.out.println("weights written to " + run.exportWeights);
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
