package io.synctower.coordinator.cli;

import io.synctower.common.checkpoint.CheckpointStore;
import io.synctower.common.checkpoint.StoredCheckpoint;
import io.synctower.common.config.ConfigException;
import io.synctower.common.config.ConfigLoader;
import io.synctower.common.config.RunConfig;
import io.synctower.common.metrics.MetricSums;
import io.synctower.common.protocol.Command.DatasetRole;
import io.synctower.coordinator.train.EpochMetrics;
import io.synctower.coordinator.train.EpochRecord;
import io.synctower.coordinator.train.PreciseBnCheckpoint;
import io.synctower.coordinator.train.PreciseBnResult;
import io.synctower.coordinator.train.Preflight;
import io.synctower.coordinator.train.RunDirectory;
import io.synctower.coordinator.train.Trainer;
import io.synctower.coordinator.train.TrainerState;
import io.synctower.worker.assembly.TrainingData;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code synctower precise-bn}: a checkpoint's BN moving statistics recomputed as the population
 * statistics of the final weights, written as a new checkpoint.
 */
@Command(
    name = "precise-bn",
    mixinStandardHelpOptions = true,
    description = {
      "Recompute a checkpoint's BN moving statistics with its final weights",
      "(precise BN): forward K global batches of the training set in training",
      "mode on the run's towers and BN mode, and give every trainable BN layer",
      "the population mean and variance of its inputs, count-weighted over all",
      "towers. Parameters do not change. Prints inference loss and accuracy",
      "before and after, and writes a NEW checkpoint (the loaded one stays)",
      "that train --resume and export then use."
    })
final class PreciseBnCommand implements Callable<Integer> {
  @Option(
      names = "--checkpoint",
      required = true,
      paramLabel = "DIR",
      description =
          "A run directory (its latest checkpoint) or one checkpoint directory"
              + " (RUN_DIR/checkpoints/step-...).")
  Path checkpoint;

  @Option(
      names = "--batches",
      required = true,
      paramLabel = "K",
      description =
          "Global batches (of training.batchSize samples) to forward, > 0; more than one pass over"
              + " the training set holds go on into another shuffled pass. 50-200 is typical.")
  int batches;

  @Option(
      names = "--towers",
      paramLabel = "N",
      description =
          "Towers to run on (default: the run's own); with SyncBN the result is the same.")
  Integer towers;

  @Option(
      names = "--out",
      paramLabel = "RUN_DIR",
      description =
          "Write the new checkpoint into RUN_DIR/checkpoints (a new run directory with the run's"
              + " config.yaml) instead of the run's own checkpoint store.")
  Path out;

  @Option(
      names = "--overwrite",
      description =
          "With --out: a RUN_DIR that holds an earlier run has that run's files deleted first.")
  boolean overwrite;

  @Override
  public Integer call() throws InterruptedException {
    final PrintStream log = System.out;
    if (batches <= 0) {
      throw new ConfigException(
          "--batches",
          List.of(
              batches
                  + ": precise BN needs at least one global batch; give a positive count, e.g."
                  + " --batches 50"));
    }
    final Source source = Source.locate(checkpoint, out != null);
    // The directory written to is owned for the command's life, as a training run owns its own.
    try (RunDirectory target = target(source)) {
      if (target != null) {
        target.notes().forEach(log::println);
      }
      return recalibrate(source, target, log);
    }
  }

  /**
   * The run directory the new checkpoint goes into: --out as a new run's, or the run whose store
   * the checkpoint is in (null when that store is no run's checkpoints folder).
   */
  private RunDirectory target(final Source source) {
    final Path runDir = source.store().getParent();
    if (out != null) {
      if (runDir != null
          && out.toAbsolutePath().normalize().equals(runDir.toAbsolutePath().normalize())) {
        throw new ConfigException(
            "--out",
            List.of(
                out
                    + " is the checkpoint's own run directory; leave --out away to add the new"
                    + " checkpoint there"));
      }
      return RunDirectory.createNew(out, overwrite, "--out");
    }
    if (overwrite) {
      throw new ConfigException(
          "--overwrite", List.of("only with --out: precise BN never deletes a run's checkpoints"));
    }
    return source.store().getFileName().toString().equals("checkpoints")
        ? RunDirectory.openExisting(runDir)
        : null;
  }

  private int recalibrate(final Source source, final RunDirectory target, final PrintStream log)
      throws InterruptedException {
    final StoredCheckpoint cp = source.checkpoint();
    final String configSource = cp.file("config.yaml").toString();
    final RunConfig config =
        ConfigLoader.parse(
            cp.text("config.yaml"),
            configSource,
            towers == null ? Map.of() : Map.of("towers", towers.toString()));
    final TrainerState state =
        TrainerState.parse(cp.text("trainer.yaml"), cp.file("trainer.yaml").toString());
    final Path base = state.dataBase().isEmpty() ? Path.of(".") : Path.of(state.dataBase());
    final TrainingData data = TrainingData.load(config, base);
    Preflight.check(config, data, configSource);
    final Path store = out != null ? out.resolve("checkpoints") : source.store();
    // Never delete what is there: the new checkpoint is added to the ones already kept.
    final int keep =
        Math.max(config.checkpoint().keep(), new CheckpointStore(store).committed().size() + 1);
    try (Trainer trainer = new Trainer(config, data, new Trainer.Options(null, false, log, base))) {
      trainer.load(cp);
      log.printf(
          Locale.ROOT,
          "loaded %s: step %d, epoch %d, %d tower(s)%n",
          cp.directory(),
          cp.step(),
          state.epoch(),
          config.towers());
      final Metrics before = Metrics.of(trainer);
      log.printf(
          Locale.ROOT,
          "precise BN: forwarding %d global batches of %d samples in training mode...%n",
          batches,
          config.training().batchSize());
      final PreciseBnResult r = trainer.recalibrateBn(batches, 0);
      log.println(r.describe());
      final Metrics after = Metrics.of(trainer);
      printComparison(log, before, after, trainingMode(state, data.train().labelPositions()));
      final Path written =
          PreciseBnCheckpoint.commit(cp, trainer.model(), config, new CheckpointStore(store), keep);
      if (out != null) {
        target.writeConfig(cp.text("config.yaml"));
      }
      log.printf(
          Locale.ROOT,
          "new checkpoint: %s (%s is unchanged)%n"
              + "use it: bin/synctower export --checkpoint %s, or train --resume %s%n",
          written,
          cp.directory(),
          written,
          store.getParent());
    }
    return 0;
  }

  /** The checkpoint to load and the store a new one goes into by default. */
  private record Source(StoredCheckpoint checkpoint, Path store) {
    private static final Pattern STORE_ENTRY = Pattern.compile("step-\\d{8,19}(-r\\d+)?");

    static Source locate(final Path dir, final boolean elsewhere) {
      if (Files.isDirectory(dir.resolve("checkpoints"))) {
        final CheckpointStore store = new CheckpointStore(dir.resolve("checkpoints"));
        return new Source(store.loadLatest(), store.root());
      }
      if (!Files.isDirectory(dir)) {
        throw new ConfigException(
            "--checkpoint",
            List.of(
                dir
                    + " is not a directory; give a run directory (runs/NAME-TIME) or one of its"
                    + " checkpoints (RUN_DIR/checkpoints/step-...)"));
      }
      final StoredCheckpoint cp = CheckpointStore.load(dir);
      if (!elsewhere && !STORE_ENTRY.matcher(cp.directory().getFileName().toString()).matches()) {
        // Its folder is no checkpoint store: a commit there would add step-* and latest beside it.
        throw new ConfigException(
            "--out",
            List.of(
                cp.directory()
                    + " is not inside a run's checkpoints folder (its name is not step-...);"
                    + " give --out RUN_DIR for the new checkpoint"));
      }
      return new Source(cp, cp.directory().toAbsolutePath().getParent());
    }
  }

  /** Inference-mode metrics of the training set and, if the run has one, the validation set. */
  private record Metrics(EpochMetrics train, EpochMetrics validation) {
    static Metrics of(final Trainer trainer) throws InterruptedException {
      return new Metrics(
          trainer.evaluate(DatasetRole.TRAIN),
          trainer.data().validation() == null ? null : trainer.evaluate(DatasetRole.VALIDATION));
    }
  }

  /** A loss and an accuracy per label position, as the tables show them. */
  private record Figures(double loss, double accuracy) {
    static Figures of(final EpochMetrics m) {
      return new Figures(m.loss(), m.accuracy());
    }
  }

  /**
   * What training reported for the weights' last epoch, in training mode (batch statistics): the
   * partial epoch's sums when the checkpoint is inside one, else the last completed epoch's row;
   * null before the first step.
   */
  private static Figures trainingMode(final TrainerState state, final int positions) {
    final MetricSums sums = state.epochSums();
    if (sums.samples() > 0) {
      return Figures.of(new EpochMetrics(positions, sums));
    }
    if (state.metricsRows().isEmpty()) {
      return null;
    }
    final EpochRecord last =
        EpochRecord.parseCsv(state.metricsRows().get(state.metricsRows().size() - 1));
    return new Figures(last.trainLoss(), last.trainAccuracy());
  }

  private static void printComparison(
      final PrintStream log, final Metrics before, final Metrics after, final Figures trained) {
    log.printf(
        Locale.ROOT, "%-34s %10s %10s%n", "inference mode (moving statistics)", "loss", "acc");
    row(log, "training set, before", Figures.of(before.train()));
    row(log, "training set, after", Figures.of(after.train()));
    if (before.validation() != null) {
      row(log, "validation, before", Figures.of(before.validation()));
      row(log, "validation, after", Figures.of(after.validation()));
    }
    log.printf(
        Locale.ROOT,
        "training-set loss in inference mode: %.4f -> %.4f%n",
        before.train().loss(),
        after.train().loss());
    if (trained != null) {
      // Not a like-for-like gap: training's figure averages the epoch while the weights moved.
      // `bin/synctower doctor` measures the gap with the final weights in both modes.
      row(log, "training mode, epoch mean", trained);
    }
  }

  private static void row(final PrintStream log, final String what, final Figures f) {
    log.printf(Locale.ROOT, "%-34s %10.4f %9.2f%%%n", what, f.loss(), 100 * f.accuracy());
  }
}
