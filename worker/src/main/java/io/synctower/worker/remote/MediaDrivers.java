package io.synctower.worker.remote;

import io.aeron.driver.MediaDriver;
import io.aeron.driver.ThreadingMode;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.agrona.IoUtil;
import org.agrona.concurrent.BackoffIdleStrategy;

/**
 * Aeron media drivers as SyncTower runs them: embedded in the process, in a directory of its own
 * (under /dev/shm when there is one) that is deleted when the driver closes, with one shared driver
 * thread that backs off when idle, so a 2-core machine keeps its cores for the towers.
 *
 * <pre>{@code
 * try (MediaDriver driver = MediaDrivers.launchEmbedded("coordinator")) {
 *   Aeron aeron = Aeron.connect(new Aeron.Context().aeronDirectoryName(driver.aeronDirectoryName()));
 * }
 * }</pre>
 */
public final class MediaDrivers {
  private MediaDrivers() {}

  /**
   * A fresh directory name for one run's driver: {@code <shm>/synctower-<user>-<role>-<pid>-<n>}.
   * Directories of this user's processes that no longer exist (killed before they could delete
   * theirs) are removed first, so /dev/shm does not fill up with dead runs' log buffers.
   */
  public static String newDirectory(final String role) {
    final Path shm = Path.of("/dev/shm");
    final Path base =
        Files.isDirectory(shm) && Files.isWritable(shm)
            ? shm
            : Path.of(System.getProperty("java.io.tmpdir"));
    final String prefix =
        "synctower-"
            + System.getProperty("user.name", "user").replaceAll("[^A-Za-z0-9_.-]", "_")
            + "-";
    removeDeadDirectories(base, prefix);
    return base.resolve(
            prefix
                + role
                + "-"
                + ProcessHandle.current().pid()
                + "-"
                + Integer.toHexString(ThreadLocalRandom.current().nextInt()))
        .toString();
  }

  private static void removeDeadDirectories(final Path base, final String prefix) {
    try (DirectoryStream<Path> dirs = Files.newDirectoryStream(base, prefix + "*")) {
      for (final Path dir : dirs) {
        final String[] parts = dir.getFileName().toString().split("-");
        if (parts.length < 3) {
          continue;
        }
        final long pid;
        try {
          pid = Long.parseLong(parts[parts.length - 2]);
        } catch (NumberFormatException e) {
          continue;
        }
        if (ProcessHandle.of(pid).isEmpty()) {
          IoUtil.delete(dir.toFile(), true);
        }
      }
    } catch (IOException | RuntimeException e) {
      // Best effort: a directory that cannot be listed or deleted is left for the user.
    }
  }

  /** Starts an embedded driver in {@link #newDirectory(String)}; close it to stop and delete it. */
  public static MediaDriver launchEmbedded(final String role) {
    return MediaDriver.launch(context(newDirectory(role)));
  }

  /** The driver settings SyncTower uses (embedded and standalone alike). */
  public static MediaDriver.Context context(final String directory) {
    return new MediaDriver.Context()
        .aeronDirectoryName(directory)
        .dirDeleteOnStart(true)
        .dirDeleteOnShutdown(true)
        .threadingMode(ThreadingMode.SHARED)
        .sharedIdleStrategy(
            new BackoffIdleStrategy(
                10, 20, TimeUnit.MICROSECONDS.toNanos(1), TimeUnit.MICROSECONDS.toNanos(100)))
        // A killed client is noticed (and its publications freed) within 5 s instead of 10.
        .clientLivenessTimeoutNs(TimeUnit.SECONDS.toNanos(5))
        .imageLivenessTimeoutNs(TimeUnit.SECONDS.toNanos(5))
        .publicationUnblockTimeoutNs(TimeUnit.SECONDS.toNanos(15))
        .spiesSimulateConnection(false);
  }
}
