package io.synctower.coordinator.cli;

import io.synctower.common.checkpoint.CheckpointStore;
import io.synctower.common.checkpoint.StoredCheckpoint;
import io.synctower.common.config.ConfigException;
import io.synctower.common.config.ConfigLoader;
import io.synctower.common.config.RunConfig;
import io.synctower.coordinator.train.MemoryLimit;
import io.synctower.coordinator.train.Preflight;
import io.synctower.coordinator.train.ResumeCompatibility;
import io.synctower.coordinator.train.RunDirectory;
import io.synctower.coordinator.train.Trainer;
import io.synctower.coordinator.train.TrainerState;
import io.synctower.worker.assembly.TrainingData;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Where a training command starts, with everything checked before any tower or process starts: a
 * new run (the command line's config) or a run resumed from the latest checkpoint of its run
 * directory. {@code train}, {@code launch} and {@code coordinator} resume through {@link #resumed},
 * so the three continue a run the same way, bit for bit.
 *
 * <p>It owns the run directory ({@link RunDirectory}: created empty or opened for the resume, and
 * locked) until closed; close it after the run.
 *
 * @param directory the run directory, owned by this process
 * @param dataBase the folder relative data paths of {@code config} resolve against (recorded in
 *     every checkpoint, so a resume without {@code --config} finds the data again)
 * @param checkpoint the checkpoint to continue from; null for a new run
 */
record RunStart(
    RunConfig config,
    TrainingData data,
    RunDirectory directory,
    Path dataBase,
    StoredCheckpoint checkpoint)
    implements AutoCloseable {

  /**
   * {@code --resume} if given, else a new run.
   *
   * @param inProcessTowers whether every tower runs in this JVM (all of them must fit its memory)
   *     or in worker processes (one replica here)
   */
  static RunStart of(
      final ResumeOptions resume,
      final ConfigOptions configOptions,
      final RunOptions run,
      final boolean inProcessTowers,
      final PrintStream out) {
    if (resume.dir != null) {
      return resumed(resume, configOptions, run, inProcessTowers, out);
    }
    final ConfigOptions.Checked checked =
        configOptions.loadChecked(run.overrides(), inProcessTowers);
    final RunDirectory directory = run.createRunDirectory(checked.config(), out);
    return new RunStart(checked.config(), checked.data(), directory, configOptions.base(), null);
  }

  /**
   * The run in {@code --resume}'s directory at its latest checkpoint (or with {@code --fallback}
   * the newest that verifies): the checkpoint's own config with the command line's overrides, or
   * {@code --config} if given, checked against the saved one by {@link ResumeCompatibility}; the
   * data from where the run found it; then {@link Preflight}. Prints each skipped checkpoint and
   * each changed key to {@code out}.
   */
  static RunStart resumed(
      final ResumeOptions resume,
      final ConfigOptions configOptions,
      final RunOptions run,
      final boolean inProcessTowers,
      final PrintStream out) {
    final Path dir = resume.dir;
    if (run.runDir != null && !sameDirectory(run.runDir, dir)) {
      throw new ConfigException(
          "--run-dir",
          List.of("a resumed run writes to its own directory " + dir + "; drop --run-dir"));
    }
    if (run.overwrite) {
      throw new ConfigException(
          "--overwrite",
          List.of(
              "cannot be combined with --resume, which continues the run in "
                  + dir
                  + "; drop --overwrite (or drop --resume to start a new run there)"));
    }
    run.checkExportWeights();
    // Owned before anything is read: a run still writing there would prune under the load.
    final RunDirectory directory = RunDirectory.openExisting(dir);
    try {
      directory.notes().forEach(out::println);
      for (final String repaired : directory.repairStepLog()) {
        out.println("resume: " + repaired);
      }
      return resumedIn(directory, resume, configOptions, run, inProcessTowers, out);
    } catch (RuntimeException e) {
      directory.close();
      throw e;
    }
  }

  private static RunStart resumedIn(
      final RunDirectory directory,
      final ResumeOptions resume,
      final ConfigOptions configOptions,
      final RunOptions run,
      final boolean inProcessTowers,
      final PrintStream out) {
    final Path dir = directory.path();
    final StoredCheckpoint checkpoint =
        new CheckpointStore(dir.resolve("checkpoints")).loadLatest(resume.fallback);
    for (final String skipped : checkpoint.skipped()) {
      out.println("resume: skipped " + skipped);
    }
    final String savedText = checkpoint.text("config.yaml");
    final String savedSource = checkpoint.file("config.yaml").toString();
    final RunConfig saved = ConfigLoader.parse(savedText, savedSource, Map.of());
    final TrainerState state =
        TrainerState.parse(
            checkpoint.text("trainer.yaml"), checkpoint.file("trainer.yaml").toString());
    // The checkpoint's config.yaml is read once; the command line's overrides change the copy.
    final RunConfig config =
        configOptions.config != null
            ? configOptions.load(run.overrides())
            : saved.withOverrides(configOptions.overrides(run.overrides()), savedSource);
    for (final String change : ResumeCompatibility.check(saved, config)) {
      out.println("resume: changed " + change);
    }
    final Path base =
        configOptions.config == null && !state.dataBase().isEmpty()
            ? Path.of(state.dataBase())
            : configOptions.base();
    final TrainingData data = TrainingData.load(config, base);
    Preflight.check(
        config, data, savedSource, inProcessTowers ? config.towers() : 1, MemoryLimit.current());
    return new RunStart(config, data, directory, base, checkpoint);
  }

  /** The same folder however it is written (a Slurm script may add a trailing "/." or a "./"). */
  private static boolean sameDirectory(final Path a, final Path b) {
    return a.toAbsolutePath().normalize().equals(b.toAbsolutePath().normalize());
  }

  /** The run directory. */
  Path dir() {
    return directory.path();
  }

  /** Releases the run directory's lock. */
  @Override
  public void close() {
    directory.close();
  }

  /** The trainer's options for this run: its directory and data base. */
  Trainer.Options trainerOptions(final boolean progress, final PrintStream out) {
    return new Trainer.Options(dir(), progress, out, dataBase);
  }

  /**
   * Loads the checkpoint into {@code trainer}'s towers, for a resumed run; nothing for a new one.
   */
  void prepare(final Trainer trainer) throws InterruptedException {
    if (checkpoint != null) {
      trainer.resumeFrom(checkpoint);
    }
  }
}
