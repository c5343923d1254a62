package io.synctower.coordinator.train;

import io.synctower.common.checkpoint.CheckpointException;
import io.synctower.common.checkpoint.CheckpointStore;
import io.synctower.common.checkpoint.StoredCheckpoint;
import io.synctower.common.config.ConfigException;
import io.synctower.common.config.ConfigLoader;
import io.synctower.common.config.RunConfig;
import io.synctower.common.metrics.MetricSums;
import io.synctower.common.nn.Model;
import io.synctower.common.optim.LearningRateSchedule;
import io.synctower.common.protocol.Command;
import io.synctower.common.protocol.Report;
import io.synctower.coordinator.towers.InProcessTowers;
import io.synctower.coordinator.towers.TowerFailedException;
import io.synctower.coordinator.towers.Towers;
import io.synctower.worker.assembly.Replicas;
import io.synctower.worker.assembly.TrainingData;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;
import me.tongfei.progressbar.ProgressBar;

/**
 * The training loop, as the coordinator runs it: plans each step (epoch, batch, learning rate),
 * sends it to every tower, commits the step when all towers reported, aggregates their metrics
 * (count-weighted), checks every {@code training.replicaCheckEvery} steps that the replicas are
 * still identical, and validates in inference mode after each epoch (the validation set sharded
 * over the towers). Around the loop, each concern is its own class: {@link RunFiles} (config.yaml,
 * metrics.csv, the step log, the checkpoint store), {@link TrainingConsole} (what is printed),
 * {@link ElasticRecovery} (going on after a lost tower), {@link CheckpointRestore} (resume), {@link
 * PreciseBnRound} (precise BN), {@link InitialWeights} (weight import) and {@link EpochRules}
 * (early stopping and reduce-LR-on-plateau, decided at each epoch's end).
 *
 * <p>The config and data must have passed {@link Preflight} (the commands run it once, before any
 * worker process or tower starts). The BN doctor is the command's to run after {@link #run}.
 *
 * <p>One tower is the same code with a group of one. Close the trainer to stop the tower threads.
 */
public final class Trainer implements AutoCloseable {
  /**
   * The end summary adds a steady-state line for the steps after this many seconds of stepping: on
   * 2 cores the JVM compiles the step's code for the first few seconds, and a short run's medians
   * are then mostly compilation (the 400-step quick start on 2 worker processes: 10 s of its 18).
   */
  static final double STEADY_AFTER_SECONDS = 10;

  /** ... when at least this many steps follow them, enough for a median. */
  static final int MIN_STEADY_STEPS = 20;

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

  private final RunConfig config;
  private final TrainingData data;
  private final Options options;
  private final long runId;
  // The resolved config as the run directory's config.yaml holds it; its hash goes into every
  // checkpoint, so a resume can tell whether the config changed.
  private final String configYaml;
  private final String configSha256;
  private final RunFiles files;
  private final TrainingConsole console;
  private final ElasticRecovery recovery;
  private final Model reference;
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
   * @param config the run's config, through {@link Preflight} with {@code data}
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
    this.files = new RunFiles(options.runDir());
    this.console = new TrainingConsole(options.out(), options.progress());
    this.recovery = new ElasticRecovery(config, launcher, files, options.out());
    // The coordinator's replica: described in the log, and the model a run returns.
    this.reference = Replicas.newModel(config, data);
    this.towers = launcher.start(runId, reference, config);
    this.configYaml = ConfigLoader.toYaml(config);
    this.configSha256 = sha256(configYaml);
    this.position = state(0, 1, 0, MetricSums.ZERO, 0, List.of());
  }

  /** Towers as threads of this JVM; tower 0 trains the coordinator's replica itself. */
  public static TowerLauncher inProcess(final TrainingData data) {
    return (runId, first, config) -> {
      final Model[] unused = {first};
      return new InProcessTowers(
          runId,
          config,
          () -> {
            final Model m = unused[0] != null ? unused[0] : Replicas.newModel(config, data);
            unused[0] = null;
            return m;
          },
          data.train(),
          data.validation(),
          data.normalization());
    };
  }

  /** The run's config, as the towers were started with it. */
  public RunConfig config() {
    return config;
  }

  public TrainingData data() {
    return data;
  }

  /** Where the run writes and prints. */
  public Options options() {
    return options;
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
    return towers.model(rank);
  }

  /**
   * Changes the initial weights before training: {@code change} runs on the coordinator's replica
   * (e.g. a weight import), then every tower takes its parameters and state so the replicas stay
   * identical ({@link InitialWeights}). Call before {@link #run}.
   *
   * @throws ConfigException when the towers are worker processes (they cannot take them yet)
   */
  public <T> T initializeReplicas(final Function<Model, T> change) throws InterruptedException {
    return InitialWeights.apply(change, reference, towers);
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
    console.resumed(checkpoint, load(checkpoint));
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
    this.position = CheckpointRestore.restore(checkpoint, towers, runId);
    return position;
  }

  /**
   * Precise BN on every tower: the moving statistics of every trainable BN layer become the
   * population statistics of its inputs over {@code batches} global batches of the training set,
   * forwarded in training mode with the current weights and the run's BN mode, count-weighted over
   * all towers. Parameters and optimizer state do not change. {@code round} picks the batches
   * (seeded passes over the training set; see {@code PreciseBnBatches}): the same round gives the
   * same batches on any tower count.
   *
   * @throws ConfigException if {@code batches} is not positive
   */
  public PreciseBnResult recalibrateBn(final int batches, final long round)
      throws InterruptedException {
    return PreciseBnRound.run(towers, runId, reference, batches, round);
  }

  /**
   * Runs all epochs (or until {@code training.steps}) from the start or from the checkpoint given
   * to {@link #resumeFrom}; returns the per-epoch records. With {@code failure.elastic}, a lost
   * tower restarts the run from the latest checkpoint instead of ending it.
   */
  public Summary run() throws InterruptedException {
    final Plan plan = plan();
    files.writeConfig(configYaml, position.step() == 0);
    console.header(reference, config, data, plan.batchesPerEpoch(), towers);
    int restarts = 0;
    while (true) {
      try {
        return trainFrom(plan, restarts);
      } catch (TowerFailedException e) {
        if (!recovery.recoverable(e, restarts, towers)) {
          throw e;
        }
        restarts++;
        towers = recovery.replace(e, restarts, towers, runId, reference);
        resumeFrom(recovery.latestCheckpoint());
      }
    }
  }

  private Summary trainFrom(final Plan plan, final int restarts) throws InterruptedException {
    final RunConfig.Training t = config.training();
    final TrainerState from = position;
    final List<EpochRecord> records = new ArrayList<>();
    for (final String row : from.metricsRows()) {
      records.add(EpochRecord.parseCsv(row));
    }
    files.rewriteMetrics(records);
    // Early stopping and the LR factor as the completed epochs left them (EpochRules).
    final EpochRules rules = new EpochRules(t);
    rules.replay(records);
    final List<StepLoss> losses = new ArrayList<>();
    final int checkEvery = t.replicaCheckEvery();
    final StepTimings timings = new StepTimings();
    final CheckpointPolicy checkpoints =
        new CheckpointPolicy(config.checkpoint(), System.nanoTime());
    final boolean checkpointing = files.present();
    boolean verifyReplicas = from.step() > 0; // a restored run proves its replicas on step one
    // The best epoch's checkpoint is a checkpoint like any other: its replicas are proven first.
    final boolean keepBest = checkpointing && rules.keepsBest();
    TrainerState endState = null;
    long step = from.step();
    try (StepLog stepLog = files.openStepLog(step);
        TrainingScalars scalars =
            files.openScalars(config.logging(), data.train().labelPositions() > 1)) {
      for (int epoch = from.epoch();
          epoch <= t.epochs() && step < plan.totalSteps() && !rules.stopped();
          epoch++) {
        final boolean resumedEpoch = epoch == from.epoch();
        final int firstBatch = resumedEpoch ? from.batchesDone() : 0;
        final EpochMetrics train =
            resumedEpoch
                ? new EpochMetrics(data.train().labelPositions(), from.epochSums())
                : new EpochMetrics(data.train().labelPositions());
        final double secondsBefore = resumedEpoch ? from.epochSeconds() : 0;
        final long start = System.nanoTime();
        final long stepsThisEpoch =
            Math.min(plan.batchesPerEpoch(), plan.totalSteps() - step + firstBatch);
        double lr = rules.learningRate(plan.schedule().learningRate(Math.max(step - 1, 0)));
        try (ProgressBar bar = console.progressBar("epoch " + epoch, stepsThisEpoch, firstBatch)) {
          for (int b = firstBatch; b < stepsThisEpoch; b++) {
            lr = rules.learningRate(plan.schedule().learningRate(step));
            final boolean lastStep = step + 1 == plan.totalSteps();
            final boolean checkpointAfter =
                checkpointing && !lastStep && checkpoints.due(step + 1, System.nanoTime());
            final boolean check =
                towers.count() > 1
                    && (verifyReplicas
                        || checkpointAfter
                        || (keepBest && b + 1 == plan.batchesPerEpoch())
                        || (checkEvery > 0 && ((step + 1) % checkEvery == 0 || lastStep)));
            verifyReplicas = false;
            final long sent = System.nanoTime();
            towers.send(new Command.TrainStep(runId, epoch, b, step, lr, check));
            final List<Report> round = towers.collect();
            timings.add(System.nanoTime() - sent, round);
            final StepOutcome outcome = StepOutcome.of(round);
            if (!outcome.skipped()) {
              train.add(outcome.sums());
            }
            if (outcome.skipped()) {
              console.stepSkipped(step, outcome.nonFiniteDescription());
            }
            losses.add(new StepLoss(step, outcome.meanLoss(), outcome.skipped()));
            if (stepLog != null) {
              stepLog.add(step, epoch, b, outcome.meanLoss(), lr, outcome.skipped());
            }
            step++;
            if (scalars != null) {
              scalars.step(step, outcome.meanLoss(), lr);
            }
            TrainingConsole.advance(bar, train.loss());
            if (checkpointAfter) {
              final double seconds = secondsBefore + (System.nanoTime() - start) / 1e9;
              stepLog.flush();
              checkpoint(state(step, epoch, b + 1, train.sums(), seconds, records), false);
              checkpoints.taken(System.nanoTime());
            }
          }
        }
        final double trainSeconds = secondsBefore + (System.nanoTime() - start) / 1e9;
        if (config.bn().preciseBatches() > 0) {
          // The epoch's final weights get population statistics before anything uses them.
          console.line(recalibrateBn(config.bn().preciseBatches(), epoch).describe());
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
        console.epoch(record, data.train().labelPositions() > 1);
        files.appendMetrics(record);
        if (scalars != null) {
          scalars.epoch(record, timings);
        }
        if (stepLog != null) {
          stepLog.flush();
        }
        // Where a longer run would go on: the next epoch, or, when training.steps cut this one
        // short, the rest of this epoch (its row is then written again, complete, by the resume).
        final boolean epochComplete = stepsThisEpoch == plan.batchesPerEpoch();
        endState =
            epochComplete
                ? state(step, epoch + 1, 0, MetricSums.ZERO, 0, records)
                : state(
                    step,
                    epoch,
                    (int) stepsThisEpoch,
                    train.sums(),
                    trainSeconds,
                    records.subList(0, records.size() - 1));
        if (epochComplete) {
          final EpochRules.Outcome decided = rules.afterEpoch(record);
          decided.lines().forEach(console::line);
          if (decided.bestImproved() && keepBest) {
            commit(endState, files.bestStore(), 1, true);
          }
        }
      }
      if (checkpointing && endState != null) {
        // The end of a run is always checkpointed, and waited for: `export` and a resume that
        // extends the run (more epochs or steps) start from it.
        checkpoint(endState, true);
      }
    }
    final String earlyStopping = rules.summary(checkpointing ? files.bestStore() : null);
    if (earlyStopping != null) {
      console.line(earlyStopping);
    }
    EpochMetrics trainInInference = null;
    if (data.validation() == null && !records.isEmpty()) {
      trainInInference = evaluate(Command.DatasetRole.TRAIN);
      console.trainInInference(trainInInference, records.get(records.size() - 1));
    }
    console.line(timings.summary());
    final StepTimings steady = timings.afterFirstSeconds(STEADY_AFTER_SECONDS);
    if (steady.steps() >= MIN_STEADY_STEPS && steady.steps() < timings.steps()) {
      console.line(
          String.format(
              Locale.ROOT,
              "steady state, after the first %d s of steps (the JVM compiling the step's code): %s",
              (long) STEADY_AFTER_SECONDS,
              steady.summary()));
    }
    towers.copyWeightsTo(reference, files.scratchDirectory());
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
      // Preflight reports this to the user, with the fix, before any tower starts.
      throw new IllegalStateException(
          "training.batchSize " + batch + " > training set: the run skipped Preflight.check");
    }
    final long plannedSteps = (long) t.epochs() * batchesPerEpoch;
    final long totalSteps = t.steps() > 0 ? Math.min(t.steps(), plannedSteps) : plannedSteps;
    final double baseLr =
        t.referenceBatch() > 0
            ? LearningRateSchedule.linearScaling(t.optimizer().lr(), batch, t.referenceBatch())
            : t.optimizer().lr();
    return new Plan(batchesPerEpoch, totalSteps, t.schedule().create(baseLr, totalSteps));
  }

  /** Asks tower 0 to commit a checkpoint of the step just done; the others only acknowledge. */
  private void checkpoint(final TrainerState state, final boolean awaitWrite)
      throws InterruptedException {
    commit(state, files.checkpointStore().root(), config.checkpoint().keep(), awaitWrite);
  }

  /** Asks tower 0 to commit a checkpoint into the store at {@code store}, keeping {@code keep}. */
  private void commit(
      final TrainerState state, final Path store, final int keep, final boolean awaitWrite)
      throws InterruptedException {
    towers.send(
        new Command.Checkpoint(
            runId,
            state.step(),
            store.toAbsolutePath().toString(),
            keep,
            awaitWrite,
            state.toYaml()));
    towers.collect();
  }

  /** The run directory's checkpoint store ({@code RUN_DIR/checkpoints}). */
  public CheckpointStore checkpointStore() {
    return files.checkpointStore();
  }

  /** The run's position as a checkpoint records it; the rest is the same for the whole run. */
  private TrainerState state(
      final long step,
      final int epoch,
      final int batchesDone,
      final MetricSums sums,
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
        towers.count(),
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
      metrics.add(e.sums());
    }
    return metrics;
  }

  @Override
  public void close() throws InterruptedException {
    towers.close();
  }
}
