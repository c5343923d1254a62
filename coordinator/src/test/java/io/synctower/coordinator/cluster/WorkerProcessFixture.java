package io.synctower.coordinator.cluster;

import io.aeron.Aeron;
import io.aeron.driver.MediaDriver;
import io.synctower.common.protocol.JoinAuth;
import io.synctower.coordinator.launch.LocalWorkers;
import io.synctower.worker.remote.MediaDrivers;
import io.synctower.worker.transport.TransportKind;
import java.io.IOException;
import java.io.PrintStream;
import java.net.DatagramSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.List;
import org.agrona.CloseHelper;

/**
 * The setup tests of worker processes share: an embedded Aeron media driver, a client of it, and a
 * fresh run secret in an owner-only file, plus the worker command lines and coordinator options for
 * N towers on this host (workers and coordinator both wait up to 90 s for the join, so a loaded
 * machine does not fail the test).
 */
final class WorkerProcessFixture implements AutoCloseable {
  private static final Duration JOIN_TIMEOUT = Duration.ofSeconds(90);

  final MediaDriver driver;
  final Aeron aeron;
  final Path secretFile;
  final byte[] secret;
  private final Path dir;

  /** Starts the driver and writes the secret under {@code dir}. */
  WorkerProcessFixture(final Path dir) throws IOException {
    this.dir = dir;
    this.driver = MediaDrivers.launchEmbedded("test");
    this.aeron = Aeron.connect(new Aeron.Context().aeronDirectoryName(driver.aeronDirectoryName()));
    this.secretFile = dir.resolve("secret");
    Files.createFile(
        secretFile,
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    Files.writeString(secretFile, JoinAuth.newSecretHex(new SecureRandom()));
    this.secret = JoinAuth.readSecret(secretFile);
  }

  /** A UDP port free right now on this host. */
  static int freePort() throws IOException {
    try (DatagramSocket s = new DatagramSocket(0)) {
      return s.getLocalPort();
    }
  }

  /** Command lines of {@code towers} workers on one device, data paths resolved under the dir. */
  List<List<String>> workerArguments(
      final TransportKind kind,
      final int towers,
      final int coordinatorPort,
      final int firstWorkerPort,
      final Duration heartbeatInterval,
      final Duration heartbeatTimeout) {
    return new LocalWorkers(
            kind,
            towers,
            1,
            secretFile,
            coordinatorPort,
            firstWorkerPort,
            driver.aeronDirectoryName(),
            dir,
            heartbeatInterval,
            heartbeatTimeout,
            JOIN_TIMEOUT)
        .arguments();
  }

  /** The coordinator's side: listens on {@code 127.0.0.1:coordinatorPort}. */
  RemoteTowers.Options coordinatorOptions(
      final TransportKind kind,
      final int coordinatorPort,
      final int towers,
      final Duration heartbeatInterval,
      final Duration heartbeatTimeout,
      final PrintStream out) {
    return new RemoteTowers.Options(
        kind,
        "127.0.0.1:" + coordinatorPort,
        towers,
        secret,
        JOIN_TIMEOUT,
        heartbeatInterval,
        heartbeatTimeout,
        out);
  }

  @Override
  public void close() {
    CloseHelper.closeAll(aeron, driver);
  }
}
