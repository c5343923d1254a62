package io.synctower.coordinator.train;

import io.synctower.common.checkpoint.FileTrees;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A run directory owned by this process for the run's life: a new run only gets an empty (or new)
 * directory, or one whose earlier run the user asked to {@code --overwrite}; a resumed run only a
 * directory that holds a run; and either holds {@code .synctower.lock} until {@link #close}, so a
 * second writer is refused instead of mixing its checkpoints and logs into this run's.
 *
 * <pre>{@code
 * try (RunDirectory dir = RunDirectory.createNew(path, overwrite)) {  // or openExisting(path)
 *   dir.notes().forEach(System.out::println);   // a stale lock taken over, a run overwritten
 *   dir.writeConfig(ConfigLoader.toYaml(config));
 *   ... new Trainer(config, data, new Trainer.Options(dir.path(), ...)) ...
 * }
 * }</pre>
 *
 * <p>Every problem (a file in the way, no permission, a full disk, another run's lock) is a {@link
 * RunDirectoryException} naming the path and the fix, raised here, before any tower starts.
 */
public final class RunDirectory implements AutoCloseable {
  /** What a run writes at the top of its directory; {@code --overwrite} deletes only these. */
  private static final Set<String> RUN_FILES =
      Set.of(
          "config.yaml",
          "metrics.csv",
          StepLog.FILE,
          RunFiles.CHECKPOINTS,
          RunFiles.TENSORBOARD,
          RunFiles.BEST,
          "doctor.md",
          "tower0-weights.npz",
          RunDirectoryLock.FILE);

  /** What a checkpoint store holds at its top (see {@code CheckpointStore}). */
  private static final Pattern STORE_ENTRY =
      Pattern.compile("step-(\\d{8,19})(-r\\d+)?|latest|latest\\.tmp-.*|\\.tmp-.*");

  private final Path path;
  private final RunDirectoryLock lock;
  private final List<String> notes;
  // A new run's directory that did not exist before: removed again if the run never started.
  private final boolean created;
  private boolean wroteConfig;

  private RunDirectory(
      final Path path,
      final RunDirectoryLock lock,
      final List<String> notes,
      final boolean created) {
    this.path = path;
    this.lock = lock;
    this.notes = List.copyOf(notes);
    this.created = created;
  }

  /** {@link #createNew(Path, boolean, String)} for {@code --run-dir}. */
  public static RunDirectory createNew(final Path dir, final boolean overwrite) {
    return createNew(dir, overwrite, "--run-dir");
  }

  /**
   * The directory of a new run: created if missing, locked, and empty. A directory that holds an
   * earlier run is refused, naming what it holds and the ways on ({@code train --resume}, another
   * directory, {@code --overwrite}); with {@code overwrite} that run's files are deleted first, but
   * never a directory that holds anything a run does not write.
   *
   * @param option the command-line option that named {@code dir}, for the messages
   * @throws RunDirectoryException when it cannot be created or written, is held by another run, or
   *     holds files a new run would destroy
   */
  public static RunDirectory createNew(
      final Path dir, final boolean overwrite, final String option) {
    if (Files.exists(dir) && !Files.isDirectory(dir)) {
      throw new RunDirectoryException(
          dir
              + " ("
              + option
              + ") is a file, not a directory: give "
              + option
              + " a directory (a missing one is created)");
    }
    final boolean created = !Files.exists(dir);
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new RunDirectoryException(
          "cannot create the run directory "
              + dir
              + " ("
              + option
              + "): "
              + RunDirectoryException.reason(e)
              + "; give "
              + option
              + " a path in a writable directory",
          e);
    }
    final List<String> notes = new ArrayList<>();
    final RunDirectoryLock lock = RunDirectoryLock.acquire(dir, notes);
    try {
      final Contents contents = Contents.of(dir);
      if (!contents.isEmpty()) {
        if (!contents.foreign().isEmpty()) {
          throw new RunDirectoryException(
              dir
                  + " ("
                  + option
                  + ") is not empty and holds files a run does not write (e.g. "
                  + contents.foreign().get(0)
                  + ")"
                  + (overwrite
                      ? ": --overwrite deletes only an earlier run's files, so it leaves this"
                          + " directory alone; give a new or empty directory, or move those files"
                          + " away"
                      : ": give a new or empty directory"));
        }
        if (!overwrite) {
          throw new RunDirectoryException(
              dir
                  + " ("
                  + option
                  + ") already holds a run ("
                  + contents.describe()
                  + "); a new run there would destroy it. Continue it with `synctower train"
                  + " --resume "
                  + dir
                  + "`, give "
                  + option
                  + " a new directory, or add --overwrite to delete that run and start again");
        }
        contents.delete(dir);
        notes.add(
            "run directory "
                + dir
                + ": --overwrite deleted the earlier run ("
                + contents.describe()
                + ")");
      }
      return new RunDirectory(dir, lock, notes, created);
    } catch (RuntimeException e) {
      lock.close();
      throw e;
    }
  }

  /**
   * The directory of a run to continue ({@code --resume}) or to add a checkpoint to, locked. It
   * must exist and hold a run (its checkpoints or config.yaml): a lock file is not written into a
   * directory that is no run's.
   *
   * @throws RunDirectoryException when it is missing, no run's, not writable or held by another run
   */
  public static RunDirectory openExisting(final Path dir) {
    if (!Files.isDirectory(dir)) {
      throw new RunDirectoryException(
          dir
              + (Files.exists(dir) ? " is a file, not a directory" : " does not exist")
              + ": give the run directory of an earlier run (the --run-dir it was started with,"
              + " by default runs/NAME-TIME)");
    }
    final Contents contents = Contents.of(dir);
    if (!contents.isRun()) {
      throw new RunDirectoryException(
          dir
              + " holds no run (no "
              + RunFiles.CHECKPOINTS
              + "/ or config.yaml): give the run directory of an earlier run (the --run-dir it"
              + " was started with, by default runs/NAME-TIME)");
    }
    final List<String> notes = new ArrayList<>();
    return new RunDirectory(dir, RunDirectoryLock.acquire(dir, notes), notes, false);
  }

  /** The directory. */
  public Path path() {
    return path;
  }

  /** What opening did that the log should show: a stale lock taken over, a run overwritten. */
  public List<String> notes() {
    return notes;
  }

  /**
   * Checks {@code steps.csv} before a resume: a torn last row (cut off by a crash, or anything
   * appended after the last complete row) is truncated away.
   *
   * @return a line for the log per repair (none when the file was intact)
   * @throws RunDirectoryException naming the file and the line when a row other than the last is
   *     not a row synctower writes
   */
  public List<String> repairStepLog() {
    return StepLog.repair(path);
  }

  /**
   * Writes the run's resolved {@code config.yaml}, so a full disk or an unwritable directory is
   * found before the towers start rather than after.
   */
  public void writeConfig(final String yaml) {
    final Path file = path.resolve("config.yaml");
    try {
      wroteConfig = true;
      Files.writeString(file, yaml, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new RunDirectoryException(
          "cannot write "
              + file
              + ": "
              + RunDirectoryException.reason(e)
              + "; free space on that disk or give a run directory elsewhere",
          e);
    }
  }

  /**
   * Releases the lock. A new run that never started (it failed before its first step: towers that
   * did not start, initial weights that do not fit) leaves no config.yaml behind, and no directory
   * if it created one, so the same command can simply be run again.
   */
  @Override
  public void close() {
    boolean empty = false;
    try {
      final Contents contents = Contents.of(path);
      if (wroteConfig
          && contents.foreign().isEmpty()
          && contents.run().equals(List.of("config.yaml"))) {
        Files.deleteIfExists(path.resolve("config.yaml"));
        empty = true;
      } else {
        // Refused before its config was written (e.g. an --export-weights it cannot write).
        empty = !wroteConfig && contents.foreign().isEmpty() && contents.run().isEmpty();
      }
    } catch (IOException | RuntimeException e) {
      // Best effort: the run's own outcome is what the user needs to see.
    } finally {
      lock.close();
    }
    if (empty && created) {
      try {
        Files.deleteIfExists(lock.file());
        Files.deleteIfExists(path);
      } catch (IOException e) {
        // Something else appeared meanwhile: then the directory stays.
      }
    }
  }

  /** What a directory holds, sorted into a run's files and anything else. */
  private record Contents(List<String> run, List<String> foreign, OptionalLong lastCheckpoint) {
    static Contents of(final Path dir) {
      final Set<String> run = new TreeSet<>();
      final List<String> foreign = new ArrayList<>();
      long last = -1;
      try (Stream<Path> entries = Files.list(dir)) {
        for (final Path p : (Iterable<Path>) entries.sorted()::iterator) {
          final String name = p.getFileName().toString();
          if (!RUN_FILES.contains(name)) {
            foreign.add(name);
          } else if (name.equals(RunDirectoryLock.FILE)) {
            // Ours, and not a sign of a run: a run that failed to start leaves only this.
          } else if (name.equals(RunFiles.CHECKPOINTS) && Files.isDirectory(p)) {
            run.add(name + "/");
            last = Math.max(last, storeEntries(p, foreign));
          } else if (name.equals(RunFiles.BEST) && Files.isDirectory(p)) {
            // Early stopping's best epoch: a store as well, never a user's file inside it.
            run.add(name + "/");
            storeEntries(p, foreign);
          } else if (name.equals(RunFiles.TENSORBOARD) && Files.isDirectory(p)) {
            run.add(name + "/");
            eventFiles(p, foreign);
          } else {
            run.add(name);
          }
        }
      } catch (IOException e) {
        throw new RunDirectoryException(
            "cannot list the run directory " + dir + ": " + RunDirectoryException.reason(e), e);
      }
      return new Contents(
          List.copyOf(run), foreign, last < 0 ? OptionalLong.empty() : OptionalLong.of(last));
    }

    /** Entries of the TensorBoard folder that are not event files go to {@code foreign}. */
    private static void eventFiles(final Path dir, final List<String> foreign) throws IOException {
      try (Stream<Path> entries = Files.list(dir)) {
        for (final Path p : (Iterable<Path>) entries.sorted()::iterator) {
          final String name = p.getFileName().toString();
          if (!name.startsWith("events.out.tfevents.") || !Files.isRegularFile(p)) {
            foreign.add(RunFiles.TENSORBOARD + "/" + name);
          }
        }
      }
    }

    /** The newest step in a checkpoint store; entries that are no store's go to {@code foreign}. */
    private static long storeEntries(final Path store, final List<String> foreign)
        throws IOException {
      long last = -1;
      try (Stream<Path> entries = Files.list(store)) {
        for (final Path p : (Iterable<Path>) entries.sorted()::iterator) {
          final String name = p.getFileName().toString();
          final Matcher m = STORE_ENTRY.matcher(name);
          if (!m.matches()) {
            foreign.add(store.getFileName() + "/" + name);
          } else if (m.group(1) != null) {
            last = Math.max(last, Long.parseLong(m.group(1)));
          }
        }
      }
      return last;
    }

    boolean isEmpty() {
      return run.isEmpty() && foreign.isEmpty();
    }

    boolean isRun() {
      return run.contains(RunFiles.CHECKPOINTS + "/") || run.contains("config.yaml");
    }

    String describe() {
      final List<String> parts = new ArrayList<>();
      if (lastCheckpoint.isPresent()) {
        parts.add("checkpoints up to step " + lastCheckpoint.getAsLong());
      }
      for (final String name : run) {
        if (!name.equals(RunFiles.CHECKPOINTS + "/") || lastCheckpoint.isEmpty()) {
          parts.add(name);
        }
      }
      return String.join(", ", parts);
    }

    /** Deletes the run's files (the lock file stays: it is held). */
    void delete(final Path dir) {
      for (final String name : run) {
        final Path p =
            dir.resolve(name.endsWith("/") ? name.substring(0, name.length() - 1) : name);
        try {
          FileTrees.delete(p);
        } catch (IOException e) {
          throw new RunDirectoryException(
              "--overwrite could not delete "
                  + p
                  + ": "
                  + RunDirectoryException.reason(e)
                  + "; delete it by hand or give a new run directory",
              e);
        }
      }
    }
  }
}
