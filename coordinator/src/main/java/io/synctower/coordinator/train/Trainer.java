package io.synctower.coordinator.train;

import io.synctower.common.config.ConfigException;
import io.synctower.common.config.ConfigLoader;
import io.synctower.common.config.RunConfig;
import io.synctower.common.data.Dataset;
import io.synctower.common.nn.Model;
import io.synctower.common.nn.ModelFactory;
import io.synctower.common.nn.Shape;
import io.synctower.common.optim.LearningRateSchedule;
import io.synctower.common.protocol.Command;
import io.synctower.common.protocol.Report;
import io.synctower.coordinator.towers.InProcessTowers;
import io.synctower.coordinator.towers.Rounds;
import io.synctower.coordinator.towers.Towers;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * The training loop, as the coordinator runs it: plans each step (epoch, batch, learning rate),
 * sends it to every tower, commits the step when all towers reported, aggregates their metrics
 * (count-weighted), checks every {@code training.replicaCheckEvery} steps that the replicas are
 * still identical, validates in inference mode after each epoch (the validation set sharded over
 * the towers), and writes the per-epoch table, {@code metrics.csv} and the resolved {@code
 * config.yaml} (appended and flushed every epoch, so a crash loses at most the epoch in flight).
 *
 * <p>One tower is the same code with a group of one. Close the trainer to stop the tower threads.
 */
public final class Trainer implements AutoCloseable {
  /** Where output goes and what to do around training. */
  public record Options(Path runDir, boolean progress, PrintStream out) {}

  /**
   * What a finished run reports.
   *
   * @param trainInInference the training set evaluated in inference mode after the last step, when
   *     the run has no validation set (so a memorisation run shows whether inference agrees with
   *     training); null otherwise
   */
  public record Summary(
      Model model,
      List<EpochRecord> epochs,
      long steps,
      EpochMetrics trainInInference,
      StepTimings timings) {
    public EpochRecord last() {
      return epochs.get(epochs.size() - 1);
    }
  }

  /** Starts the towers of a run; tower 0 may take over {@code first}, the coordinator's replica. */
  @FunctionalInterface
  public interface TowerLauncher {
    Towers start(long runId, Model first) throws InterruptedException;
  }

  private final RunConfig config;
  private final TrainingData data;
  private final Options options;
  private final Towers towers;
  private final Model reference;
  private final long runId;

  /** A trainer whose towers are threads of this JVM. */
  public Trainer(final RunConfig config, final TrainingData data, final Options options)
      throws InterruptedException {
    this(config, data, options, new java.util.Random().nextLong(), inProcess(config, data));
  }

  /**
   * A trainer whose towers {@code launcher} starts (in this JVM or as worker processes).
   *
   * @param runId the id every message of this run carries
   */
  public Trainer(
      final RunConfig config,
      final TrainingData data,
      final Options options,
      final long runId,
      final TowerLauncher launcher)
      throws InterruptedException {
    this.config = config;
    this.data = data;
    this.options = options;
    this.runId = runId;
    // The coordinator's replica: checked here, described in the log, and the model a run returns.
    this.reference = newModel(config, data);
    checkOutputMatchesLabels(reference, data.train());
    checkBatchFitsTowers(config, options.out());
    this.towers = launcher.start(runId, reference);
  }

  /** Towers as threads of this JVM; tower 0 trains the coordinator's replica itself. */
  public static TowerLauncher inProcess(final RunConfig config, final TrainingData data) {
    return (runId, first) -> {
      final Model[] unused = {first};
      return new InProcessTowers(
          runId,
          config,
          () -> {
            final Model m = unused[0] != null ? unused[0] : newModel(config, data);
            unused[0] = null;
            return m;
          },
          data.train(),
          data.validation(),
          data.normalization());
    };
  }

  /** A replica as every tower builds it: the config's layers, initialized from the run seed. */
  public static Model newModel(final RunConfig config, final TrainingData data) {
    final Model model =
        ModelFactory.build(
            config.model().layers(),
            data.inputShape(),
            config.model().dtype(),
            config.bn().decay(),
            config.bn().epsilon());
    model.initialize(config.seed());
    return model;
  }

  private static void checkBatchFitsTowers(final RunConfig config, final PrintStream out) {
    if (config.training().batchSize() < config.towers()) {
      // Allowed (empty shards join every collective with zero counts), but rarely intended.
      out.printf(
          Locale.ROOT,
          "warning: batchSize %d < towers %d: %d tower(s) get no samples each step%n",
          config.training().batchSize(),
          config.towers(),
          config.towers() - config.training().batchSize());
    }
  }

  /** The model's output must be [P, K] (or [K] for P = 1) for the dataset's labels. */
  static void checkOutputMatchesLabels(final Model model, final Dataset dataset) {
    final Shape out = model.outputShape();
    final int p = dataset.labelPositions();
    final int k = dataset.numClasses();
    final boolean ok =
        (p == 1 && out.rank() == 1 && out.dim(0) == k)
            || (out.rank() == 2 && out.dim(0) == p && out.dim(1) == k);
    if (!ok) {
      final String fix =
          p == 1
              ? "end the model with a dense layer of " + k + " units"
              : "end the model with a dense layer of "
                  + (p * k)
                  + " units and reshape: ["
                  + p
                  + ", "
                  + k
                  + "]";
      throw new ConfigException(
          "model.layers",
          List.of(
              "the model outputs "
                  + out
                  + " per sample but "
                  + dataset.describe()
                  + " has "
                  + p
                  + " label position(s) of "
                  + k
                  + " classes; "
                  + fix));
    }
  }

  public TrainingData data() {
    return data;
  }

  /**
   * The coordinator's replica: tower 0's own with in-process towers; with worker processes, a copy
   * that receives the trained weights at the end of {@link #run}.
   */
  public Model model() {
    return reference;
  }

  /**
   * Tower {@code rank}'s replica, for tests and diagnostics; read it between steps only.
   *
   * @throws IllegalStateException when the towers are worker processes
   */
  public Model model(final int rank) {
    if (towers instanceof InProcessTowers local) {
      return local.model(rank);
    }
    throw new IllegalStateException("tower " + rank + " runs in another process");
  }

  /**
   * Changes the initial weights before training: {@code change} runs on tower 0's replica (e.g. a
   * weight import), then its parameters and state are copied to every other replica so they stay
   * identical. Call before {@link #run}.
   */
  public <T> T initializeReplicas(final java.util.function.Function<Model, T> change) {
    if (!(towers instanceof InProcessTowers local)) {
      throw new ConfigException(
          "--init-weights",
          List.of(
              "initial weights are not supported with worker processes yet; train with"
                  + " `synctower train --towers N` (towers as threads) to start from imported"
                  + " weights"));
    }
    final Model first = local.model(0);
    final T result = change.apply(first);
    for (int r = 1; r < towers.towers(); r++) {
      local.model(r).parameters().assign(first.parameters());
      local.model(r).state().assign(first.state());
    }
    return result;
  }

  /** Runs all epochs (or until {@code training.steps}); returns the per-epoch records. */
  public Summary run() throws InterruptedException {
    final RunConfig.Training t = config.training();
    final int batch = t.batchSize();
    final int batchesPerEpoch = data.train().size() / batch;
    if (batchesPerEpoch == 0) {
      throw new ConfigException(
          "training.batchSize",
          List.of(
              "batchSize "
                  + batch
                  + " is larger than the training set ("
                  + data.train().size()
                  + " samples); lower it"));
    }
    final long plannedSteps = (long) t.epochs() * batchesPerEpoch;
    final long totalSteps = t.steps() > 0 ? Math.min(t.steps(), plannedSteps) : plannedSteps;
    final double baseLr =
        t.referenceBatch() > 0
            ? LearningRateSchedule.linearScaling(t.optimizer().lr(), batch, t.referenceBatch())
            : t.optimizer().lr();
    final LearningRateSchedule schedule = t.schedule().create(baseLr, totalSteps);
    prepareRunDirectory();
    final PrintStream out = options.out();
    final Model model = model();
    out.printf(
        Locale.ROOT,
        "model: %,d parameters (%,d trainable), input %s, output %s, dtype %s%n",
        model.parameterCount(),
        model.trainableRanges().trainableCount(),
        model.inputShape(),
        model.outputShape(),
        config.model().dtype().name().toLowerCase(Locale.ROOT));
    out.printf(
        Locale.ROOT,
        "data: train %s, validation %s; batch %d, %d steps/epoch, optimizer %s%n",
        data.train().describe(),
        data.validation() == null ? "none" : data.validation().describe(),
        batch,
        batchesPerEpoch,
        t.optimizer());
    out.println(TowerPlanFormat.describe(config, towers));
    out.println(TableFormat.header(data.train().labelPositions() > 1));

    final List<EpochRecord> records = new ArrayList<>();
    final int checkEvery = t.replicaCheckEvery();
    final StepTimings timings = new StepTimings();
    long step = 0;
    for (int epoch = 1; epoch <= t.epochs() && step < totalSteps; epoch++) {
      final long start = System.nanoTime();
      final EpochMetrics train = new EpochMetrics(data.train().labelPositions());
      final long stepsThisEpoch = Math.min(batchesPerEpoch, totalSteps - step);
      double lr = schedule.learningRate(step);
      try (ProgressBar bar = progressBar("epoch " + epoch, stepsThisEpoch)) {
        for (int b = 0; b < stepsThisEpoch; b++) {
          lr = schedule.learningRate(step);
          final boolean lastStep = step + 1 == totalSteps;
          final boolean check =
              towers.towers() > 1 && checkEvery > 0 && ((step + 1) % checkEvery == 0 || lastStep);
          final long sent = System.nanoTime();
          towers.send(new Command.TrainStep(runId, epoch, b, step, lr, check));
          final List<Report> round = towers.collect();
          timings.add(System.nanoTime() - sent, round);
          for (final Report r : round) {
            final Report.StepDone d = (Report.StepDone) r;
            train.add(d.lossSum(), d.correctPositions(), d.correctSequences(), d.samples());
          }
          if (check) {
            Rounds.checkReplicaHashes(round);
          }
          step++;
          if (bar != null) {
            bar.step();
            bar.setExtraMessage(String.format(Locale.ROOT, " loss %.4f", train.loss()));
          }
        }
      }
      final double trainSeconds = (System.nanoTime() - start) / 1e9;
      final EpochMetrics validation =
          data.validation() == null ? null : evaluate(Command.DatasetRole.VALIDATION);
      final EpochRecord record =
          new EpochRecord(
              epoch,
              step,
              train.loss(),
              train.accuracy(),
              train.sequenceAccuracy(),
              validation == null ? Double.NaN : validation.loss(),
              validation == null ? Double.NaN : validation.accuracy(),
              validation == null ? Double.NaN : validation.sequenceAccuracy(),
              lr,
              train.samples() / trainSeconds,
              (System.nanoTime() - start) / 1e9);
      records.add(record);
      out.println(TableFormat.row(record, data.train().labelPositions() > 1));
      appendCsv(record);
    }
    EpochMetrics trainInInference = null;
    if (data.validation() == null && !records.isEmpty()) {
      trainInInference = evaluate(Command.DatasetRole.TRAIN);
      out.printf(
          Locale.ROOT,
          "training set in inference mode (moving statistics): loss %.4f, acc %.2f%%"
              + " (last epoch in training mode: acc %.2f%%)%n",
          trainInInference.loss(),
          100 * trainInInference.accuracy(),
          100 * records.get(records.size() - 1).trainAccuracy());
    }
    out.println(timings.summary());
    towers.copyWeightsTo(model, scratchDirectory());
    return new Summary(model, records, step, trainInInference, timings);
  }

  /**
   * Metrics of the training or validation set in inference mode (moving statistics, no dropout),
   * each tower evaluating a contiguous slice; sums are count-weighted.
   */
  public EpochMetrics evaluate(final Command.DatasetRole role) throws InterruptedException {
    final EpochMetrics metrics = new EpochMetrics(data.train().labelPositions());
    towers.send(new Command.Evaluate(runId, role));
    for (final Report r : towers.collect()) {
      final Report.EvaluationDone e = (Report.EvaluationDone) r;
      metrics.add(e.lossSum(), e.correctPositions(), e.correctSequences(), e.samples());
    }
    return metrics;
  }

  @Override
  public void close() throws InterruptedException {
    towers.close();
  }

  private ProgressBar progressBar(final String task, final long steps) {
    if (!options.progress()) {
      return null;
    }
    return new ProgressBarBuilder()
        .setTaskName(task)
        .setInitialMax(steps)
        .setStyle(ProgressBarStyle.ASCII)
        .setUpdateIntervalMillis(500)
        .showSpeed()
        .setUnit(" steps", 1)
        .build();
  }

  private Path scratchDirectory() {
    try {
      return options.runDir() != null
          ? options.runDir()
          : Files.createTempDirectory("synctower-weights");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create a temporary directory", e);
    }
  }

  private void prepareRunDirectory() {
    if (options.runDir() == null) {
      return;
    }
    try {
      Files.createDirectories(options.runDir());
      Files.writeString(options.runDir().resolve("config.yaml"), ConfigLoader.toYaml(config));
      Files.writeString(options.runDir().resolve("metrics.csv"), EpochRecord.CSV_HEADER + "\n");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the run directory " + options.runDir(), e);
    }
  }

  private void appendCsv(final EpochRecord record) {
    if (options.runDir() == null) {
      return;
    }
    try {
      Files.writeString(
          options.runDir().resolve("metrics.csv"),
          record.csv() + "\n",
          StandardOpenOption.APPEND,
          StandardOpenOption.SYNC);
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot append to " + options.runDir().resolve("metrics.csv"), e);
    }
  }
}
