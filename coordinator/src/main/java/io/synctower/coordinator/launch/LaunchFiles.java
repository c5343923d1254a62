package io.synctower.coordinator.launch;

import io.synctower.common.protocol.JoinAuth;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Objects;
import org.agrona.IoUtil;

/**
 * The temporary files of one {@code synctower launch}: the run secret, in a private directory of
 * its own, and the directory of the launch's Aeron media driver (about 120 MB of shared memory).
 * Nothing of them may outlive the run, whichever way it ends:
 *
 * <ul>
 *   <li>normal end, error, exception: {@code LocalLaunch} deletes both on its way out;
 *   <li>Ctrl-C, SIGTERM: its shutdown hook stops the workers and deletes both;
 *   <li>the secret is deleted as soon as every worker has joined (each read it at start-up), so a
 *       run's secret exists only while it starts;
 *   <li>SIGKILL of the launcher (no hook runs): every worker watches the launcher's process ({@code
 *       worker --launcher-pid}), stops when it is gone and deletes what it left ({@link
 *       #deleteOrphaned}); each is idempotent, so several workers doing it is harmless.
 * </ul>
 *
 * <pre>{@code
 * LaunchFiles files = LaunchFiles.create();          // secret written, 0600
 * files.aeronDirectory(connection.directory());      // once the driver runs
 * ... workers read files.secretFile() ...
 * files.deleteSecret();                              // every worker joined
 * files.deleteAll();                                 // idempotent, thread-safe
 * }</pre>
 */
public final class LaunchFiles {
  /** Prefix of the secret's directory under java.io.tmpdir. */
  static final String SECRET_DIR_PREFIX = "synctower-launch-";

  private static final String SECRET_NAME = "secret";

  private final Path secretDir;
  private final Path secretFile;
  private String aeronDir;

  private LaunchFiles(final Path secretDir) {
    this.secretDir = secretDir;
    this.secretFile = secretDir.resolve(SECRET_NAME);
  }

  /** A fresh secret in a new private directory (the file 0600). */
  public static LaunchFiles create() throws IOException {
    final LaunchFiles files =
        new LaunchFiles(
            Files.createTempDirectory(
                SECRET_DIR_PREFIX,
                PosixFilePermissions.asFileAttribute(
                    PosixFilePermissions.fromString("rwx------"))));
    try {
      Files.createFile(
          files.secretFile,
          PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
      Files.writeString(files.secretFile, JoinAuth.newSecretHex(new SecureRandom()));
    } catch (IOException | RuntimeException e) {
      files.deleteAll();
      throw e;
    }
    return files;
  }

  public Path secretFile() {
    return secretFile;
  }

  /** The launch's media driver directory, deleted by {@link #deleteAll} too. */
  public synchronized void aeronDirectory(final String directory) {
    this.aeronDir = Objects.requireNonNull(directory, "directory");
  }

  /** Deletes the secret and its directory (the workers hold it in memory once they joined). */
  public synchronized void deleteSecret() {
    IoUtil.delete(secretDir.toFile(), true);
  }

  /**
   * Deletes the secret and the Aeron directory. Safe while the driver still runs (its mapped files
   * stay valid until the process ends; the names are gone), from any thread, any number of times.
   */
  public synchronized void deleteAll() {
    deleteSecret();
    if (aeronDir != null) {
      IoUtil.delete(new File(aeronDir), true);
    }
  }

  /**
   * A worker's cleanup after its launcher died without cleaning up (SIGKILL): deletes the secret
   * file's directory and the Aeron directory, but only where their names show they are that
   * launcher's temporary files, so a user's own secret file or driver is never touched.
   *
   * @param launcherPid the pid of the {@code launch} process that created them
   * @param aeronDir the launcher's driver directory (IPC), or null
   * @return what was deleted, for the log; empty if nothing was a launch's file
   */
  public static String deleteOrphaned(
      final Path secretFile, final String aeronDir, final long launcherPid) {
    final StringBuilder deleted = new StringBuilder();
    final Path dir = secretFile.toAbsolutePath().getParent();
    if (dir != null
        && secretFile.getFileName().toString().equals(SECRET_NAME)
        && dir.getFileName().toString().startsWith(SECRET_DIR_PREFIX)
        && Files.exists(dir)) {
      IoUtil.delete(dir.toFile(), true);
      deleted.append("the secret ").append(dir);
    }
    if (aeronDir != null) {
      final Path aeron = Path.of(aeronDir);
      if (aeron.getFileName() != null
          && aeron.getFileName().toString().startsWith("synctower-")
          && aeron.getFileName().toString().contains("-launch-" + launcherPid + "-")
          && Files.exists(aeron)) {
        IoUtil.delete(aeron.toFile(), true);
        deleted
            .append(deleted.length() > 0 ? ", " : "")
            .append("the Aeron directory ")
            .append(aeron);
      }
    }
    return deleted.toString();
  }
}
