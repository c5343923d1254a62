package io.synctower.coordinator.train;

import io.synctower.common.checkpoint.CheckpointStore;
import io.synctower.common.config.RunConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

/**
 * The files a run keeps in its run directory around the step loop: the resolved {@code
 * config.yaml}, {@code metrics.csv} (the completed epochs), the step log, the TensorBoard scalars
 * and the checkpoint store. {@link RunDirectory} owns the directory itself (created, locked,
 * checked before any tower starts); this class writes what training produces in it, so the loop
 * says what is recorded and this class says where and how. A run without a run directory (tests,
 * precise BN on a checkpoint) writes none of these files: the writing methods then do nothing.
 */
final class RunFiles {
  /** The checkpoint store's folder in the run directory. */
  static final String CHECKPOINTS = "checkpoints";

  /**
   * The checkpoint store (one checkpoint) of the best epoch so far, kept by early stopping apart
   * from {@link #CHECKPOINTS} so {@code checkpoint.keep} never prunes it.
   */
  static final String BEST = "best";

  /** The trainer's position in every checkpoint ({@link TrainerState}). */
  static final String TRAINER_FILE = "trainer.yaml";

  private static final String CONFIG = "config.yaml";
  private static final String METRICS = "metrics.csv";

  /** The TensorBoard event files' folder in the run directory. */
  static final String TENSORBOARD = "tensorboard";

  private final Path dir;

  /**
   * @param dir the run directory; null for a run that writes no files
   */
  RunFiles(final Path dir) {
    this.dir = dir;
  }

  /** Whether the run has a run directory (and so checkpoints, a step log, metrics.csv). */
  boolean present() {
    return dir != null;
  }

  /**
   * A new run writes its resolved config (unless {@link RunDirectory#writeConfig} wrote the same
   * already); a resumed one keeps the file it started with.
   *
   * @param yaml the resolved config ({@code ConfigLoader.toYaml})
   * @param newRun whether training starts at step 0
   */
  void writeConfig(final String yaml, final boolean newRun) {
    if (dir == null) {
      return;
    }
    final Path configFile = dir.resolve(CONFIG);
    try {
      Files.createDirectories(dir);
      if (newRun || !Files.exists(configFile)) {
        if (!Files.exists(configFile) || !Files.readString(configFile).equals(yaml)) {
          Files.writeString(configFile, yaml);
        }
      }
    } catch (IOException e) {
      throw cannotWrite(configFile, e);
    }
  }

  /**
   * metrics.csv holds exactly the completed epochs of the position training starts from. Written
   * from the checkpoint's rows on every start, so a row a crash tore is never read back.
   */
  void rewriteMetrics(final List<EpochRecord> records) {
    if (dir == null) {
      return;
    }
    final StringBuilder b = new StringBuilder(EpochRecord.CSV_HEADER).append('\n');
    for (final EpochRecord r : records) {
      b.append(r.csv()).append('\n');
    }
    try {
      Files.writeString(dir.resolve(METRICS), b.toString());
    } catch (IOException e) {
      throw cannotWrite(dir.resolve(METRICS), e);
    }
  }

  /** Appends a completed epoch's row, synced: a crash loses at most the epoch in flight. */
  void appendMetrics(final EpochRecord record) {
    if (dir == null) {
      return;
    }
    try {
      Files.writeString(
          dir.resolve(METRICS),
          record.csv() + "\n",
          StandardOpenOption.APPEND,
          StandardOpenOption.SYNC);
    } catch (IOException e) {
      throw cannotWrite(dir.resolve(METRICS), e);
    }
  }

  /**
   * TensorBoard scalars in {@code RUN_DIR/tensorboard} ({@link TrainingScalars}); null without a
   * run directory or with {@code logging.tensorboard: false}.
   */
  TrainingScalars openScalars(final RunConfig.Logging logging, final boolean sequences) {
    return dir == null || !logging.tensorboard()
        ? null
        : TrainingScalars.open(dir.resolve(TENSORBOARD), logging.everySteps(), sequences);
  }

  /** The step log from {@code firstStep} on; null without a run directory. */
  StepLog openStepLog(final long firstStep) {
    return dir == null ? null : StepLog.open(dir, firstStep);
  }

  /** The run directory's checkpoint store ({@code RUN_DIR/checkpoints}). */
  CheckpointStore checkpointStore() {
    if (dir == null) {
      throw new IllegalStateException("a run without a run directory has no checkpoints");
    }
    return new CheckpointStore(dir.resolve(CHECKPOINTS));
  }

  /** The best epoch's checkpoint store ({@code RUN_DIR/best}); null without a run directory. */
  Path bestStore() {
    return dir == null ? null : dir.resolve(BEST).toAbsolutePath();
  }

  /**
   * Where worker processes leave tower 0's trained weights for the coordinator: the run directory,
   * or a new temporary folder for a run without one.
   */
  Path scratchDirectory() {
    try {
      return dir != null ? dir : Files.createTempDirectory("synctower-weights");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create a temporary directory", e);
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
}
