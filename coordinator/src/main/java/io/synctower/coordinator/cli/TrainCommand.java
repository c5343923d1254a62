package io.synctower.coordinator.cli;

import io.synctower.common.checkpoint.ImportOptions;
import io.synctower.common.checkpoint.ImportReport;
import io.synctower.common.checkpoint.WeightsFile;
import io.synctower.common.config.ConfigException;
import io.synctower.common.config.ModelFactory;
import io.synctower.common.config.RunConfig;
import io.synctower.coordinator.doctor.Doctor;
import io.synctower.coordinator.train.RunDirectory;
import io.synctower.coordinator.train.Trainer;
import java.nio.file.Path;
import java.util.List;
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
        "Load only these layers from --init-weights (e.g. a pretrained backbone). Each entry is",
        "a layer name or a name prefix: layer1 selects layer1.0.conv1 (not layer10). File keys",
        "of other layers are skipped, the other layers keep their initialization."
      })
  List<String> initLayers = List.of();

  @Option(
      names = "--init-partial",
      description = {
        "Non-strict --init-weights (like PyTorch load_state_dict(strict=False)): missing tensors",
        "keep their initialization and unknown keys are skipped; both are listed."
      })
  boolean initPartial;

  @Mixin ResumeOptions resume = new ResumeOptions();

  @Mixin RunOptions run = new RunOptions();

  @Override
  public Integer call() throws Exception {
    if (resume.dir != null) {
      return resume();
    }
    final ConfigOptions.Checked checked = configOptions.loadChecked(run.overrides());
    checkInitLayers(checked.config());
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

  /**
   * Every --init-layers entry must select a layer (name or prefix) of this model; checked before
   * any tower starts.
   */
  private void checkInitLayers(final RunConfig config) {
    if (initLayers.isEmpty()) {
      return;
    }
    final String given = "--init-layers " + String.join(",", initLayers);
    if (initWeights == null) {
      throw new ConfigException(
          given, List.of("selects layers of --init-weights; add --init-weights W.npz or drop it"));
    }
    WeightsFile.unknownLayers(ModelFactory.layerNames(config.model().layers()), initLayers)
        .ifPresent(
            problem -> {
              throw new ConfigException(
                  given,
                  List.of(
                      problem
                          + "; name layers or name prefixes from that list, separated by"
                          + " commas"));
            });
  }

  private int resume() throws InterruptedException {
    if (initWeights != null) {
      throw new ConfigException(
          "--init-weights",
          List.of("cannot be combined with --resume: the checkpoint holds the weights"));
    }
    try (RunStart start = RunStart.resumed(resume, configOptions, run, true, System.out);
        Trainer trainer =
            new Trainer(
                start.config(), start.data(), start.trainerOptions(!run.noProgress, System.out))) {
      start.prepare(trainer);
      return finish(trainer, start.dir(), run);
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
    final Trainer.Summary summary = trainAndExamine(trainer);
    if (run.exportWeights != null) {
      WeightsFile.save(trainer.model(), run.exportWeights, run.weightsLayout);
      System.out.println("weights written to " + run.exportWeights);
    }
    System.out.println("run directory: " + dir + " (" + summary.steps() + " steps)");
    return 0;
  }

  /**
   * Trains, then lets the BN doctor examine the trained weights ({@code doctor:}), as every command
   * that trains does (train, launch, coordinator, each run of scale). The command calls the doctor,
   * not the trainer, so the training package knows nothing of it.
   */
  static Trainer.Summary trainAndExamine(final Trainer trainer) throws InterruptedException {
    final Trainer.Summary summary = trainer.run();
    Doctor.afterTraining(
        trainer.config(),
        trainer.data(),
        summary.model(),
        summary.epochs(),
        trainer.options().runDir(),
        trainer.options().out());
    return summary;
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
