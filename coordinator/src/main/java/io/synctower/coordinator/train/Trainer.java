package io.synctower.coordinator.train;

import io.synctower.common.checkpoint.CheckpointException;
import io.synctower.common.checkpoint.CheckpointStore;
import io.synctower.common.checkpoint.StoredCheckpoint;
import io.synctower.common.config.ConfigException;
import io.synctower.common.config.ConfigLoader;
import io.synctower.common.config.ModelFactory;
import io.synctower.common.config.RunConfig;
import io.synctower.common.nn.Model;
import io.synctower.common.nn.Shape;
import io.synctower.common.optim.LearningRateSchedule;
import io.synctower.common.protocol.Command;
import io.synctower.common.protocol.Report;
import io.synctower.coordinator.doctor.Doctor;
import io.synctower.coordinator.towers.InProcessTowers;
import io.synctower.coordinator.towers.Rounds;
import io.synctower.coordinator.towers.TowerFailedException;
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
import java.util.Map;
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
  public record Options(Path runDir, boolean progress, PrintStream out, Path dataBase) {
    /** Options of a run whose config names no relative data paths. */
    public Options(final Path runDir, final boolean progress, final PrintStream out) {
      this(runDir, progress, out, null);
    }
  }

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
      StepTimings timings,
      List<StepLoss> stepLosses,
      int restarts) {
    public EpochRecord last() {
      return epochs.get(epochs.size() - 1);
    }
  }

  /**
   * The mean loss of one optimizer step over the global batch, in this process's part of the run.
   *
   * @param skipped the update was not applied (non-finite values, {@code onNonFinite: skip})
   */
  public record StepLoss(long step, double loss, boolean skipped) {}

  /** Starts the towers of a run; tower 0 may take over {@code first}, the coordinator's replica. */
  public interface TowerLauncher {
    /** Starts {@code config.towers()} towers. */
    Towers start(long runId, Model first, RunConfig config) throws InterruptedException;

    /**
     * How many towers an elastic restart goes on with after one of {@code towers} was lost: the
     * survivors by default; a launcher that respawns processes keeps the count; 0 when it cannot
     * restart at all ({@link #whyNoRecovery} says why).
     */
    default int towersAfterLoss(final int towers) {
      return towers - 1;
    }

    /** Why {@link #towersAfterLoss} is 0, for the log. */
    default String whyNoRecovery() {
      return "no tower would be left";
    }
  }

  static final String CHECKPOINTS = "checkpoints";
  static final String TRAINER_FILE = "trainer.yaml";

  private final RunConfig config;
  private final TrainingData data;
  private final Options options;
  private final TowerLauncher launcher;
  private final Model reference;
  private final long runId;
  private final String configSha256;
  private Towers towers;
  // Where training (re)starts: the beginning, a resumed checkpoint or, after an elastic restart,
  // the latest one.
  private TrainerState position;

  /** A trainer whose towers are threads of this JVM. */
  public Trainer(final RunConfig config, final TrainingData data, final Options options)
      throws InterruptedException {
    this(config, data, options, new java.util.Random().nextLong(), inProcess(data));
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
    this.launcher = launcher;
    // Every config, shape and data problem at once, before any tower starts.
    Preflight.check(config, data, "config");
    // The coordinator's replica: described in the log, and the model a run returns.
    this.reference = newModel(config, data);
    this.towers = launcher.start(runId, reference, config);
    this.configSha256 = sha256(ConfigLoader.toYaml(config));
    this.position = state(0, 1, 0, TrainerState.Sums.NONE, 0, List.of());
  }

  /** Towers as threads of this JVM; tower 0 trains the coordinator's replica itself. */
  public static TowerLauncher inProcess(final TrainingData data) {
    return (runId, first, config) -> {
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
    return newModel(config, data.inputShape());
  }

  /** A replica for samples of {@code inputShape} (e.g. the shape a checkpoint records). */
  public static Model newModel(final RunConfig config, final Shape inputShape) {
    final Model model =
        ModelFactory.build(
            config.model().layers(),
            inputShape,
            config.model().dtype(),
            config.bn().decay(),
            config.bn().epsilon());
    model.initialize(config.seed());
    return model;
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

  /**
   * Continues the run from {@code checkpoint} instead of starting it: the replicas, optimizer
   * state, moving statistics, data position and the epoch's metrics so far are the checkpoint's.
   * Call before {@link #run}.
   *
   * @throws CheckpointException when a file of the checkpoint is corrupt or it was written by
   *     another model
   */
  public void resumeFrom(final StoredCheckpoint checkpoint) throws InterruptedException {
    final TrainerState state = load(checkpoint);
    options
        .out()
        .printf(
            Locale.ROOT,
            "resuming from %s: step %d, epoch %d, batch %d%n",
            checkpoint.directory(),
            state.step(),
            state.epoch(),
            state.batchesDone());
  }

  /**
   * Loads {@code checkpoint} into every tower (replicas, optimizer state, moving statistics) and
   * takes its position as the run's, without a word to the log: {@link #resumeFrom} for training
   * on, tools such as precise BN for changing a checkpoint.
   *
   * @return the checkpoint's position
   * @throws CheckpointException when a file of the checkpoint is corrupt or it was written by
   *     another model
   */
  public TrainerState load(final StoredCheckpoint checkpoint) throws InterruptedException {
    final TrainerState state =
        TrainerState.parse(checkpoint.text(TRAINER_FILE), checkpoint.file(TRAINER_FILE).toString());
    restore(checkpoint);
    this.position = state;
    return state;
  }

  /**
   * Precise BN on every tower: the moving statistics of every trainable BN layer become the
   * population statistics of its inputs over {@code batches} global batches of the training set,
   * forwarded in training mode with the current weights and the run's BN mode, count-weighted over
   * all towers. Parameters and optimizer state do not change. {@code round} picks the batches
   * (seeded passes over the training set; see {@code RecalibrationBatches}): the same round gives
   * the same batches on any tower count.
   *
   * @throws ConfigException if {@code batches} is not positive
   */
  public Recalibration recalibrateBn(final int batches, final long round)
      throws InterruptedException {
    if (batches <= 0) {
      throw new ConfigException(
          "batches",
          List.of(
              batches
                  + ": precise BN needs at least one global batch; give a positive count, e.g."
                  + " 50"));
    }
    if (data.train().size() < config.training().batchSize()) {
      throw new ConfigException(
          "training.batchSize",
          List.of(
              config.training().batchSize()
                  + " is larger than the training set ("
                  + data.train().size()
                  + " samples): precise BN forwards full global batches; lower it"));
    }
    final long start = System.nanoTime();
    towers.send(new Command.RecalibrateBn(runId, batches, round));
    final List<Report> reports = towers.collect();
    return Recalibration.of(reports, reference, (System.nanoTime() - start) / 1e9);
  }

  /**
   * Runs all epochs (or until {@code training.steps}) from the start or from the checkpoint given
   * to {@link #resumeFrom}; returns the per-epoch records. With {@code failure.elastic}, a lost
   * tower restarts the run from the latest checkpoint instead of ending it.
   */
  public Summary run() throws InterruptedException {
    final Plan plan = plan();
    prepareRunDirectory();
    printHeader(plan);
    int restarts = 0;
    while (true) {
      try {
        return trainFrom(plan, restarts);
      } catch (TowerFailedException e) {
        if (!recoverable(e, restarts)) {
          throw e;
        }
        restarts++;
        recover(e, restarts);
      }
    }
  }

  private Summary trainFrom(final Plan plan, final int restarts) throws InterruptedException {
    final RunConfig.Training t = config.training();
    final PrintStream out = options.out();
    final TrainerState from = position;
    final List<EpochRecord> records = new ArrayList<>();
    for (final String row : from.metricsRows()) {
      records.add(EpochRecord.parseCsv(row));
    }
    rewriteCsv(records);
    final List<StepLoss> losses = new ArrayList<>();
    final int checkEvery = t.replicaCheckEvery();
    final StepTimings timings = new StepTimings();
    final CheckpointPolicy checkpoints =
        new CheckpointPolicy(config.checkpoint(), System.nanoTime());
    final boolean checkpointing = options.runDir() != null;
    boolean verifyReplicas = from.step() > 0; // a restored run proves its replicas on step one
    TrainerState endState = null;
    long step = from.step();
    try (StepLog stepLog = checkpointing ? StepLog.open(options.runDir(), step) : null) {
      for (int epoch = from.epoch(); epoch <= t.epochs() && step < plan.totalSteps(); epoch++) {
        final boolean resumedEpoch = epoch == from.epoch();
        final int firstBatch = resumedEpoch ? from.batchesDone() : 0;
        final EpochMetrics train =
            resumedEpoch
                ? from.epochSums().toMetrics(data.train().labelPositions())
                : new EpochMetrics(data.train().labelPositions());
        final double secondsBefore = resumedEpoch ? from.epochSeconds() : 0;
        final long start = System.nanoTime();
        final long stepsThisEpoch =
            Math.min(plan.batchesPerEpoch(), plan.totalSteps() - step + firstBatch);
        double lr = plan.schedule().learningRate(Math.max(step - 1, 0));
        try (ProgressBar bar = progressBar("epoch " + epoch, stepsThisEpoch, firstBatch)) {
          for (int b = firstBatch; b < stepsThisEpoch; b++) {
            lr = plan.schedule().learningRate(step);
            final boolean lastStep = step + 1 == plan.totalSteps();
            final boolean checkpointAfter =
                checkpointing && !lastStep && checkpoints.due(step + 1, System.nanoTime());
            final boolean check =
                towers.towers() > 1
                    && (verifyReplicas
                        || checkpointAfter
                        || (checkEvery > 0 && ((step + 1) % checkEvery == 0 || lastStep)));
            verifyReplicas = false;
            final long sent = System.nanoTime();
            towers.send(new Command.TrainStep(runId, epoch, b, step, lr, check));
            final List<Report> round = towers.collect();
            timings.add(System.nanoTime() - sent, round);
            final StepOutcome outcome = StepOutcome.of(round);
            if (!outcome.skipped()) {
              train.add(
                  outcome.lossSum(),
                  outcome.correctPositions(),
                  outcome.correctSequences(),
                  outcome.samples());
            }
            if (check) {
              Rounds.checkReplicaHashes(round);
            }
            if (outcome.skipped()) {
              out.printf(
                  Locale.ROOT,
                  "step %d skipped (failure.onNonFinite: skip): %s%n",
                  step,
                  outcome.nonFiniteDescription());
            }
            losses.add(new StepLoss(step, outcome.meanLoss(), outcome.skipped()));
            if (stepLog != null) {
              stepLog.add(step, epoch, b, outcome.meanLoss(), lr, outcome.skipped());
            }
            step++;
            if (bar != null) {
              bar.step();
              bar.setExtraMessage(String.format(Locale.ROOT, " loss %.4f", train.loss()));
            }
            if (checkpointAfter) {
              final double seconds = secondsBefore + (System.nanoTime() - start) / 1e9;
              stepLog.flush();
              checkpoint(
                  state(step, epoch, b + 1, TrainerState.Sums.of(train), seconds, records), false);
              checkpoints.taken(System.nanoTime());
            }
          }
        }
        final double trainSeconds = secondsBefore + (System.nanoTime() - start) / 1e9;
        if (config.bn().preciseBatches() > 0) {
          // The epoch's final weights get population statistics before anything uses them.
          out.println(recalibrateBn(config.bn().preciseBatches(), epoch).describe());
        }
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
                trainSeconds);
        records.add(record);
        out.println(TableFormat.row(record, data.train().labelPositions() > 1));
        appendCsv(record);
        if (stepLog != null) {
          stepLog.flush();
        }
        // Where a longer run would go on: the next epoch, or, when training.steps cut this one
        // short, the rest of this epoch (its row is then written again, complete, by the resume).
        final boolean epochComplete = stepsThisEpoch == plan.batchesPerEpoch();
        endState =
            epochComplete
                ? state(step, epoch + 1, 0, TrainerState.Sums.NONE, 0, records)
                : state(
                    step,
                    epoch,
                    (int) stepsThisEpoch,
                    TrainerState.Sums.of(train),
                    trainSeconds,
                    records.subList(0, records.size() - 1));
      }
      if (checkpointing && endState != null) {
        // The end of a run is always checkpointed, and waited for: `export` and a resume that
        // extends the run (more epochs or steps) start from it.
        checkpoint(endState, true);
      }
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
    towers.copyWeightsTo(reference, scratchDirectory());
    Doctor.afterTraining(config, data, reference, records, options.runDir(), out);
    return new Summary(
        reference, records, step, trainInInference, timings, List.copyOf(losses), restarts);
  }

  /** The step's plan: batches per epoch, total steps, learning-rate schedule. */
  private record Plan(int batchesPerEpoch, long totalSteps, LearningRateSchedule schedule) {}

  private Plan plan() {
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
    return new Plan(batchesPerEpoch, totalSteps, t.schedule().create(baseLr, totalSteps));
  }

  private void printHeader(final Plan plan) {
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
    out.println(ModelMemory.of(config, model.inputShape()).describe());
    out.printf(
        Locale.ROOT,
        "data: train %s, validation %s; batch %d, %d steps/epoch, optimizer %s%n",
        data.train().describe(),
        data.validation() == null ? "none" : data.validation().describe(),
        config.training().batchSize(),
        plan.batchesPerEpoch(),
        config.training().optimizer());
    out.println(TowerPlanFormat.describe(config, towers));
    out.println(TableFormat.header(data.train().labelPositions() > 1));
  }

  /** Asks tower 0 to commit a checkpoint of the step just done; the others only acknowledge. */
  private void checkpoint(final TrainerState state, final boolean awaitWrite)
      throws InterruptedException {
    towers.send(
        new Command.Checkpoint(
            runId,
            state.step(),
            checkpointStore().root().toAbsolutePath().toString(),
            config.checkpoint().keep(),
            awaitWrite,
            state.toYaml()));
    towers.collect();
  }

  /** Every tower loads {@code checkpoint}; the next step's replica hashes prove they agree. */
  private void restore(final StoredCheckpoint checkpoint) throws InterruptedException {
    towers.send(new Command.Restore(runId, checkpoint.directory().toAbsolutePath().toString()));
    towers.collect();
  }

  private boolean recoverable(final TowerFailedException e, final int restarts) {
    final RunConfig.Failure f = config.failure();
    if (!f.elastic() || !e.recoverable() || options.runDir() == null) {
      return false;
    }
    if (restarts >= f.maxRestarts()) {
      options
          .out()
          .printf(
              Locale.ROOT,
              "elastic: giving up after %d restart(s) (failure.maxRestarts)%n",
              restarts);
      return false;
    }
    if (launcher.towersAfterLoss(towers.towers()) < 1) {
      options.out().println("elastic: cannot recover here: " + launcher.whyNoRecovery());
      return false;
    }
    if (checkpointStore().committed().isEmpty()) {
      options.out().println("elastic: no checkpoint to restart from yet; the run ends");
      return false;
    }
    return true;
  }

  /** Replaces the towers after a loss and restores the latest checkpoint into the new ones. */
  private void recover(final TowerFailedException e, final int restarts)
      throws InterruptedException {
    final int before = towers.towers();
    final int after = launcher.towersAfterLoss(before);
    options
        .out()
        .printf(
            Locale.ROOT,
            "elastic restart %d/%d: %s; going on with %d tower(s) (was %d) from the latest"
                + " checkpoint%n",
            restarts,
            config.failure().maxRestarts(),
            e.getMessage(),
            after,
            before);
    closeQuietly(towers);
    final RunConfig resized = withTowers(config, after);
    towers = launcher.start(runId, reference, resized);
    final StoredCheckpoint latest = checkpointStore().loadLatest(true);
    for (final String skipped : latest.skipped()) {
      options.out().println("elastic: skipped " + skipped);
    }
    resumeFrom(latest);
  }

  private static RunConfig withTowers(final RunConfig config, final int towers) {
    if (towers == config.towers()) {
      return config;
    }
    return ConfigLoader.parse(
        ConfigLoader.toYaml(config),
        "the run's config with towers " + towers + " after a lost tower",
        Map.of("towers", Integer.toString(towers)));
  }

  private void closeQuietly(final Towers old) throws InterruptedException {
    try {
      old.close();
    } catch (RuntimeException closing) {
      options.out().println("elastic: closing the old towers: " + closing.getMessage());
    }
  }

  /** The run directory's checkpoint store ({@code RUN_DIR/checkpoints}). */
  public CheckpointStore checkpointStore() {
    if (options.runDir() == null) {
      throw new IllegalStateException("a run without a run directory has no checkpoints");
    }
    return new CheckpointStore(options.runDir().resolve(CHECKPOINTS));
  }

  /** The run's position as a checkpoint records it; the rest is the same for the whole run. */
  private TrainerState state(
      final long step,
      final int epoch,
      final int batchesDone,
      final TrainerState.Sums sums,
      final double seconds,
      final List<EpochRecord> completed) {
    return new TrainerState(
        step,
        epoch,
        batchesDone,
        sums,
        seconds,
        completed.stream().map(EpochRecord::csv).toList(),
        configSha256,
        towers.towers(),
        dataBase());
  }

  private static String sha256(final String text) {
    try {
      final byte[] digest =
          java.security.MessageDigest.getInstance("SHA-256")
              .digest(text.getBytes(java.nio.charset.StandardCharsets.UTF_8));
      return java.util.HexFormat.of().formatHex(digest);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java platform has SHA-256", e);
    }
  }

  private String dataBase() {
    return options.dataBase() == null ? "" : options.dataBase().toAbsolutePath().toString();
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

  private ProgressBar progressBar(final String task, final long steps, final long done) {
    if (!options.progress()) {
      return null;
    }
    return new ProgressBarBuilder()
        .setTaskName(task)
        .setInitialMax(steps)
        .startsFrom(done, java.time.Duration.ZERO)
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

  /**
   * A new run writes its resolved config (unless {@link RunDirectory#writeConfig} wrote the same
   * already); a resumed one keeps the file it started with.
   */
  private void prepareRunDirectory() {
    if (options.runDir() == null) {
      return;
    }
    final Path configFile = options.runDir().resolve("config.yaml");
    try {
      Files.createDirectories(options.runDir());
      final String yaml = ConfigLoader.toYaml(config);
      if (position.step() == 0 || !Files.exists(configFile)) {
        if (!Files.exists(configFile) || !Files.readString(configFile).equals(yaml)) {
          Files.writeString(configFile, yaml);
        }
      }
    } catch (IOException e) {
      throw cannotWrite(configFile, e);
    }
  }

  private static RunDirectoryException cannotWrite(final Path file, final IOException e) {
    return new RunDirectoryException(
        "cannot write "
            + file
            + ": "
            + RunDirectoryException.reason(e)
            + "; free space on that disk or give a run directory elsewhere",
        e);
  }

  /**
   * metrics.csv holds exactly the completed epochs of the position training starts from. Written
   * from the checkpoint's rows on every start, so a row a crash tore is never read back.
   */
  private void rewriteCsv(final List<EpochRecord> records) {
    if (options.runDir() == null) {
      return;
    }
    final StringBuilder b = new StringBuilder(EpochRecord.CSV_HEADER).append('\n');
    for (final EpochRecord r : records) {
      b.append(r.csv()).append('\n');
    }
    try {
      Files.writeString(options.runDir().resolve("metrics.csv"), b.toString());
    } catch (IOException e) {
      throw cannotWrite(options.runDir().resolve("metrics.csv"), e);
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
      throw cannotWrite(options.runDir().resolve("metrics.csv"), e);
    }
  }
}
