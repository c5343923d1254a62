package io.synctower.coordinator.cli;

import io.aeron.Aeron;
import io.synctower.common.protocol.JoinAuth;
import io.synctower.coordinator.cluster.RemoteTowers;
import io.synctower.coordinator.launch.LaunchFiles;
import io.synctower.coordinator.launch.LocalWorkers;
import io.synctower.coordinator.launch.WorkerProcesses;
import io.synctower.worker.remote.AeronConnection;
import io.synctower.worker.remote.ControlChannels;
import io.synctower.worker.transport.TransportKind;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.agrona.CloseHelper;
import org.nd4j.linalg.factory.Nd4j;

/**
 * One run's worker processes on this host, for {@code launch} and {@code scale --transport}: a
 * fresh run secret (a private temporary file), an embedded Aeron media driver, one worker JVM per
 * tower whose log is streamed with a {@code [tower r]} prefix, and the coordinator's work in {@code
 * body}. On every way out (return, exception, Ctrl-C, SIGTERM; SIGKILL through the workers) the
 * workers are stopped and the secret and the Aeron directory deleted ({@link LaunchFiles}); a
 * worker that dies is reported to the run as a lost tower, or before joining interrupts the wait.
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
    final LaunchFiles files = LaunchFiles.create();
    final byte[] secret = JoinAuth.readSecret(files.secretFile());
    final AtomicReference<WorkerProcesses> workers = new AtomicReference<>();
    // Ctrl-C, SIGTERM: the main thread's finally never runs (the JVM halts after its hooks), so
    // the hook stops the workers and deletes the files itself. SIGKILL: see LaunchFiles.
    final Thread cleanup =
        new Thread(
            () -> {
              final WorkerProcesses started = workers.get();
              if (started != null) {
                started.destroy();
              }
              files.deleteAll();
            },
            "launch-cleanup");
    Runtime.getRuntime().addShutdownHook(cleanup);
    AeronConnection connection = null;
    final AtomicReference<RemoteTowers> joined = new AtomicReference<>();
    final Thread main = Thread.currentThread();
    try {
      connection = AeronConnection.open("launch", null);
      files.aeronDirectory(connection.directory());
      final int offset = w.port() - ControlChannels.COORDINATOR_PORT;
      final LocalWorkers local =
          new LocalWorkers(
              w.kind(),
              w.towers(),
              Nd4j.getAffinityManager().getNumberOfDevices(),
              files.secretFile(),
              w.port(),
              ControlChannels.WORKER_PORT + offset,
              connection.directory(),
              w.dataBase(),
              w.transport().heartbeatInterval,
              w.transport().heartbeatTimeout,
              w.transport().joinTimeout);
      final List<List<String>> args = new ArrayList<>();
      for (final List<String> a : local.arguments()) {
        // Each worker watches this process: if it dies without cleaning up, they do.
        final List<String> withLauncher = new ArrayList<>(a);
        withLauncher.add("--launcher-pid");
        withLauncher.add(Long.toString(ProcessHandle.current().pid()));
        args.add(withLauncher);
      }
      workers.set(
          WorkerProcesses.start(
              args,
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
              }));
      try {
        return coordinator.run(
            connection.aeron(),
            "127.0.0.1:" + w.port(),
            secret,
            towers -> {
              joined.set(towers);
              files.deleteSecret(); // every worker read it before it could join
            });
      } finally {
        workers.get().awaitExit(Duration.ofSeconds(10));
      }
    } finally {
      if (workers.get() != null) {
        workers.get().destroy();
      }
      CloseHelper.close(connection);
      files.deleteAll();
      try {
        Runtime.getRuntime().removeShutdownHook(cleanup);
      } catch (IllegalStateException e) {
        // Already shutting down: the hook runs (again harmlessly).
      }
    }
  }
}
