package io.synctower.coordinator.cli;

import io.aeron.Aeron;
import io.synctower.common.protocol.JoinAuth;
import io.synctower.coordinator.cluster.RemoteTowers;
import io.synctower.coordinator.launch.LocalWorkers;
import io.synctower.coordinator.launch.WorkerProcesses;
import io.synctower.worker.remote.AeronConnection;
import io.synctower.worker.remote.ControlChannels;
import io.synctower.worker.transport.TransportKind;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;
import org.agrona.CloseHelper;
import org.nd4j.linalg.factory.Nd4j;

/**
 * One run's worker processes on this host, for {@code launch} and {@code scale --transport}: a
 * fresh run secret (a private temporary file), an embedded Aeron media driver, one worker JVM per
 * tower whose log is streamed with a {@code [tower r]} prefix, and the coordinator's work in {@code
 * body}. Whatever happens, the workers are stopped and the secret deleted on the way out; a worker
 * that dies is reported to the run as a lost tower, or before joining interrupts the wait.
 */
final class LocalLaunch {
  private LocalLaunch() {}

  /** The coordinator's side, run once the workers are starting. */
  @FunctionalInterface
  interface Coordinator<T> {
    /**
     * @param onJoined to be called with the towers once every worker joined, so a worker's exit is
     *     reported as that tower's loss
     * @throws InterruptedException when a worker exited before every worker joined
     */
    T run(
        Aeron aeron,
        String bindEndpoint,
        byte[] secret,
        java.util.function.Consumer<RemoteTowers> onJoined)
        throws InterruptedException;
  }

  /** Where the workers find the coordinator and how they behave. */
  record Workers(
      int towers,
      TransportKind kind,
      int port,
      TransportOptions transport,
      Path dataBase,
      String heap,
      PrintStream out) {}

  static <T> T run(final Workers w, final Coordinator<T> coordinator) throws Exception {
    final Path secretDir = Files.createTempDirectory("synctower-launch");
    final Path secretFile = secretDir.resolve("secret");
    Files.createFile(
        secretFile,
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    Files.writeString(secretFile, JoinAuth.newSecretHex(new SecureRandom()));
    final byte[] secret = JoinAuth.readSecret(secretFile);
    AeronConnection connection = null;
    final AtomicReference<RemoteTowers> joined = new AtomicReference<>();
    final Thread main = Thread.currentThread();
    WorkerProcesses workers = null;
    try {
      connection = AeronConnection.open("launch", null);
      final int offset = w.port() - ControlChannels.COORDINATOR_PORT;
      final LocalWorkers local =
          new LocalWorkers(
              w.kind(),
              w.towers(),
              Nd4j.getAffinityManager().getNumberOfDevices(),
              secretFile,
              w.port(),
              ControlChannels.WORKER_PORT + offset,
              connection.directory(),
              w.dataBase(),
              w.transport().heartbeatInterval,
              w.transport().heartbeatTimeout,
              w.transport().joinTimeout);
      workers =
          WorkerProcesses.start(
              local.arguments(),
              "-Xmx" + w.heap(),
              w.out(),
              (rank, exitCode) -> {
                if (exitCode == 0) {
                  return; // workers exit 0 only after the coordinator's Shutdown
                }
                final RemoteTowers t = joined.get();
                final String why = "its process exited with code " + exitCode;
                if (t != null) {
                  t.lost(rank, why);
                } else {
                  w.out().println("launch: tower " + rank + " " + why + " before joining");
                  main.interrupt();
                }
              });
      final WorkerProcesses started = workers;
      final Thread stopOnCtrlC = new Thread(started::destroy, "launch-shutdown");
      Runtime.getRuntime().addShutdownHook(stopOnCtrlC);
      try {
        return coordinator.run(connection.aeron(), "127.0.0.1:" + w.port(), secret, joined::set);
      } finally {
        started.awaitExit(Duration.ofSeconds(10));
        try {
          Runtime.getRuntime().removeShutdownHook(stopOnCtrlC);
        } catch (IllegalStateException e) {
          // Already shutting down.
        }
      }
    } finally {
      if (workers != null) {
        workers.destroy();
      }
      CloseHelper.close(connection);
      Files.deleteIfExists(secretFile);
      Files.deleteIfExists(secretDir);
    }
  }
}
