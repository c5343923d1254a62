package io.synctower.coordinator.train;

import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * {@code RUN_DIR/.synctower.lock}: one writer per run directory, for the run's whole life.
 *
 * <p>Two layers. The operating system's lock on the file ({@link FileChannel#tryLock}) is the truth
 * on one host: it is released when the holder exits, however it exits, so a crashed run never
 * blocks the next one. The file's text (pid, host, start time) names the holder for the refusal,
 * and covers what the OS lock cannot see: a file system without lock support, or another host on a
 * shared file system. Text whose process is gone (same host, pid not running, or running but
 * started after the lock was written, i.e. a recycled pid) is a stale lock and is taken over with a
 * note.
 *
 * <p>Another host's process cannot be asked whether it runs, so the holder renews a lease: it sets
 * the file's modification time every {@link Lease#renewEvery}. A lock from another host is live
 * while its time moves. One whose time is older than {@link Lease#expiresAfter} by this host's
 * clock is taken over at once; a younger one is watched for {@link Lease#watchFor} (three renewal
 * periods, so no clock needs to agree with another), and taken over if it did not move. That is
 * what lets a requeued Slurm job or a re-created Kubernetes pod, which starts on another host,
 * resume the run its dead predecessor held.
 *
 * <p>The file is never deleted, only emptied on release: deleting it would let a process that
 * opened it just before the delete lock an orphaned file while a third one locks a new one. An
 * empty file means free.
 */
final class RunDirectoryLock implements AutoCloseable {
  static final String FILE = ".synctower.lock";

  /**
   * How much later than the lock's start time a process with the holder's pid may have started and
   * still be the holder: process start times are derived from the boot time, which Linux reports in
   * whole seconds.
   */
  private static final Duration START_SLACK = Duration.ofSeconds(5);

  /**
   * How a holder proves it still runs.
   *
   * @param renewEvery how often the holder sets the file's modification time
   */
  record Lease(Duration renewEvery) {
    static final Lease DEFAULT = new Lease(Duration.ofSeconds(10));

    /** How long another host's unrenewed lock is watched before it is taken as stale. */
    Duration watchFor() {
      return renewEvery.multipliedBy(3);
    }

    /** How old another host's lock may be, by this host's clock, before it is stale at once. */
    Duration expiresAfter() {
      return renewEvery.multipliedBy(6);
    }
  }

  /** The lease every lock uses; tests shorten it. */
  static volatile Lease lease = Lease.DEFAULT;

  /** Who holds a lock, as its file says. */
  record Holder(long pid, String host, Instant started) {
    String toText() {
      return "pid: " + pid + "\nhost: " + host + "\nstarted: " + started + "\n";
    }

    /** The text of a lock file; empty when the file is empty (free), null when unreadable. */
    static Optional<Holder> parse(final String text) {
      if (text.isBlank()) {
        return Optional.empty();
      }
      Long pid = null;
      String host = null;
      Instant started = null;
      for (final String line : text.split("\n", -1)) {
        final int colon = line.indexOf(':');
        if (colon < 0) {
          continue;
        }
        final String key = line.substring(0, colon).strip();
        final String value = line.substring(colon + 1).strip();
        try {
          switch (key) {
            case "pid" -> pid = Long.parseLong(value);
            case "host" -> host = value;
            case "started" -> started = Instant.parse(value);
            default -> {
              // A later version may say more; what is here is enough.
            }
          }
        } catch (NumberFormatException | DateTimeParseException e) {
          return null;
        }
      }
      return pid == null || host == null || host.isEmpty() || started == null
          ? null
          : Optional.of(new Holder(pid, host, started));
    }

    String describe() {
      final String self = pid == ProcessHandle.current().pid() ? " (this process)" : "";
      return "pid "
          + pid
          + self
          + " on host "
          + host
          + (started == null ? "" : ", started " + started);
    }
  }

  /** The directories this JVM holds, by real path. */
  private static final Set<Path> HELD = new HashSet<>();

  private final Path key;
  private final Path file;
  private final FileChannel channel;
  private final FileLock lock;
  private final ScheduledExecutorService renewal;

  private RunDirectoryLock(
      final Path key, final Path file, final FileChannel channel, final FileLock lock) {
    this.key = key;
    this.file = file;
    this.channel = channel;
    this.lock = lock;
    this.renewal =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              final Thread t = new Thread(r, "run-directory-lease");
              t.setDaemon(true);
              return t;
            });
    final long every = lease.renewEvery().toMillis();
    renewal.scheduleAtFixedRate(this::renew, every, every, TimeUnit.MILLISECONDS);
  }

  /** Moves the file's modification time: this run still holds the directory. */
  private void renew() {
    try {
      Files.setLastModifiedTime(file, FileTime.from(Instant.now()));
    } catch (IOException | RuntimeException e) {
      // A missed renewal only shortens the lease another host sees; the next one may succeed.
    }
  }

  /**
   * Takes the lock of {@code dir}, which must exist.
   *
   * @param notes receives a line when a stale lock is taken over
   * @throws RunDirectoryException naming the holder when another run holds it, or the reason when
   *     the file cannot be written
   */
  static RunDirectoryLock acquire(final Path dir, final List<String> notes) {
    final Path file = dir.resolve(FILE);
    final Path key = key(dir);
    synchronized (HELD) {
      if (HELD.contains(key)) {
        // Never open the file a second time here: closing any channel to it would drop this JVM's
        // OS lock on it (POSIX lock semantics).
        throw held(dir, file, new Holder(ProcessHandle.current().pid(), thisHost(), null));
      }
      final RunDirectoryLock taken = acquireUnregistered(dir, file, notes);
      HELD.add(key);
      return taken;
    }
  }

  private static Path key(final Path dir) {
    try {
      return dir.toRealPath();
    } catch (IOException e) {
      return dir.toAbsolutePath().normalize();
    }
  }

  private static RunDirectoryLock acquireUnregistered(
      final Path dir, final Path file, final List<String> notes) {
    FileChannel channel = null;
    try {
      channel =
          FileChannel.open(
              file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
      FileLock lock;
      try {
        lock = channel.tryLock();
      } catch (OverlappingFileLockException e) {
        lock = null; // this JVM holds it under another name of the directory
      }
      if (lock == null) {
        final Optional<Holder> h = Holder.parse(read(channel));
        throw held(dir, file, h == null || h.isEmpty() ? null : h.get());
      }
      final String text = read(channel);
      final Optional<Holder> previous = Holder.parse(text);
      if (previous == null) {
        notes.add(
            "run directory "
                + dir
                + ": its lock file "
                + file
                + " held unreadable text and no process holds it; taken over");
      } else if (previous.isPresent()) {
        final Holder h = previous.get();
        if (!h.host().equals(thisHost())) {
          final Optional<Duration> stillRenewed = renewedElsewhere(file);
          if (stillRenewed.isPresent()) {
            lock.release();
            throw new RunDirectoryException(
                dir
                    + " is locked by a run on another host: "
                    + h.describe()
                    + " ("
                    + file
                    + "), which renewed its lock "
                    + stillRenewed.get().toSeconds()
                    + " s ago, so it still runs. Wait for it or stop it, or give another run"
                    + " directory. If that process is surely gone and the file still moves, another"
                    + " process writes it: delete "
                    + file
                    + " only when no run uses the directory");
          }
          notes.add(
              "run directory "
                  + dir
                  + ": the lock of "
                  + h.describe()
                  + " was not renewed (that run is gone); taken over");
        } else if (alive(h)) {
          lock.release();
          throw held(dir, file, h);
        } else {
          notes.add(
              "run directory "
                  + dir
                  + ": the lock of "
                  + h.describe()
                  + " was left by a run that no longer runs (it did not exit cleanly); taken over");
        }
      }
      final Holder me =
          new Holder(
              ProcessHandle.current().pid(),
              thisHost(),
              Instant.now().truncatedTo(java.time.temporal.ChronoUnit.MILLIS));
      channel.truncate(0);
      channel.write(ByteBuffer.wrap(me.toText().getBytes(StandardCharsets.UTF_8)), 0);
      channel.force(true);
      return new RunDirectoryLock(key(dir), file, channel, lock);
    } catch (IOException e) {
      closeQuietly(channel);
      throw new RunDirectoryException(
          "cannot lock the run directory "
              + dir
              + " (writing "
              + file
              + ": "
              + RunDirectoryException.reason(e)
              + "): a run needs a directory it can write; give a run directory on a writable disk"
              + " with free space",
          e);
    } catch (RuntimeException e) {
      closeQuietly(channel);
      throw e;
    }
  }

  /**
   * How long ago another host's holder renewed the lock in {@code file}, if it still does: empty
   * when the lease expired by this host's clock, or when the modification time did not move while
   * watched for {@link Lease#watchFor}.
   */
  private static Optional<Duration> renewedElsewhere(final Path file) throws IOException {
    final Lease l = lease;
    final FileTime first = Files.getLastModifiedTime(file);
    final Duration age = Duration.between(first.toInstant(), Instant.now());
    if (age.compareTo(l.expiresAfter()) > 0) {
      return Optional.empty();
    }
    System.err.println(
        "synctower: "
            + file
            + " names a run on another host; watching it for up to "
            + l.watchFor().toSeconds()
            + " s to see whether that run still renews it");
    final long deadline = System.nanoTime() + l.watchFor().toNanos();
    final long poll = Math.max(1, Math.min(1000, l.renewEvery().toMillis() / 4));
    while (System.nanoTime() < deadline) {
      try {
        Thread.sleep(poll);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return Optional.of(Duration.ZERO); // not proven stale: refuse
      }
      final FileTime now = Files.getLastModifiedTime(file);
      if (!now.equals(first)) {
        return Optional.of(Duration.between(now.toInstant(), Instant.now()).abs());
      }
    }
    return Optional.empty();
  }

  /**
   * @param h the holder, null when its file does not name one yet
   */
  private static RunDirectoryException held(final Path dir, final Path file, final Holder h) {
    final String who = h == null ? "a process that has not written its name yet" : h.describe();
    return new RunDirectoryException(
        dir
            + " is in use by another run: "
            + who
            + " ("
            + file
            + "). Two runs in one directory overwrite each other's checkpoints and logs; wait for"
            + " that run to finish or stop it, or give another run directory");
  }

  /**
   * Whether the process a lock names on this host still runs. This JVM's own pid is not alive as a
   * holder: the OS lock was free, so the pid was recycled (a container starts every run as the same
   * pid).
   */
  private static boolean alive(final Holder h) {
    if (h.pid() == ProcessHandle.current().pid()) {
      return false;
    }
    final Optional<ProcessHandle> process = ProcessHandle.of(h.pid());
    if (process.isEmpty() || !process.get().isAlive()) {
      return false;
    }
    final Optional<Instant> start = process.get().info().startInstant();
    return start.isEmpty() || !start.get().isAfter(h.started().plus(START_SLACK));
  }

  static String thisHost() {
    try {
      return InetAddress.getLocalHost().getHostName();
    } catch (UnknownHostException e) {
      return "unknown-host";
    }
  }

  private static String read(final FileChannel channel) throws IOException {
    final long size = channel.size();
    if (size > 4096) {
      return "?"; // no lock file of ours is this long: unreadable
    }
    final ByteBuffer buffer = ByteBuffer.allocate((int) size);
    while (buffer.hasRemaining() && channel.read(buffer, buffer.position()) >= 0) {
      // read until full
    }
    return new String(buffer.array(), 0, buffer.position(), StandardCharsets.UTF_8);
  }

  private static void closeQuietly(final FileChannel channel) {
    if (channel != null) {
      try {
        channel.close();
      } catch (IOException ignored) {
        // The original failure is what the user needs to see.
      }
    }
  }

  /** Empties the file (free) and releases the OS lock. */
  @Override
  public void close() {
    renewal.shutdownNow();
    try {
      channel.truncate(0);
      channel.force(true);
    } catch (IOException e) {
      // The OS lock goes with the channel; a next run on this host takes the text as stale.
    } finally {
      try {
        lock.release();
      } catch (IOException ignored) {
        // Closing the channel releases it as well.
      }
      closeQuietly(channel);
      synchronized (HELD) {
        HELD.remove(key);
      }
    }
  }

  Path file() {
    return file;
  }
}
