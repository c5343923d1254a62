package io.synctower.coordinator.cli;

import io.synctower.common.protocol.JoinAuth;
import io.synctower.coordinator.cluster.RemoteTowers;
import io.synctower.coordinator.launch.LocalWorkers;
import io.synctower.coordinator.launch.WorkerProcesses;
import io.synctower.worker.remote.AeronConnection;
import io.synctower.worker.remote.ControlChannels;
import io.synctower.worker.transport.TransportKind;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicReference;
import org.agrona.CloseHelper;
import org.nd4j.linalg.factory.Nd4j;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code synctower launch}: coordinator plus N worker processes on this host, one command. */
@Command(
    name = "launch",
    mixinStandardHelpOptions = true,
    description = {
      "Train with --towers worker processes on this host: starts the coordinator (this process,",
      "with an embedded Aeron media driver) and one worker process per tower, streams their logs",
      "prefixed with [tower r], and stops them all on Ctrl-C or when any of them fails."
    })
final class LaunchCommand implements Callable<Integer> {
  @Mixin ConfigOptions configOptions = new ConfigOptions();
  @Mixin RunOptions run = new RunOptions();
  @Mixin TransportOptions transport = new TransportOptions();

  @Option(
      names = "--transport",
      defaultValue = "IPC",
      description = "ipc (shared memory, default) or udp (loopback, as between hosts).")
  TransportKind kind;

  @Option(
      names = "--port",
      defaultValue = "" + ControlChannels.COORDINATOR_PORT,
      description = {
        "UDP only: the coordinator's port (default ${DEFAULT-VALUE}); worker r uses",
        "40200 + r (+ the same offset from 40100)."
      })
  int port;

  @Option(
      names = "--worker-heap",
      defaultValue = "2g",
      description =
          "Java heap of each worker process (default ${DEFAULT-VALUE}; tensors are off-heap).")
  String workerHeap;

  @Override
  public Integer call() throws Exception {
    transport.checkHeartbeats();
    // Every problem of the configuration, its data and its shapes, before any JVM is spawned.
    final ConfigOptions.Checked checked = configOptions.loadChecked(run.overrides());
    final int towers = checked.config().towers();
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
      final int offset = port - ControlChannels.COORDINATOR_PORT;
      final LocalWorkers local =
          new LocalWorkers(
              kind,
              towers,
              Nd4j.getAffinityManager().getNumberOfDevices(),
              secretFile,
              port,
              ControlChannels.WORKER_PORT + offset,
              connection.directory(),
              configOptions.base(),
              transport.heartbeatInterval,
              transport.heartbeatTimeout,
              transport.joinTimeout);
      workers =
          WorkerProcesses.start(
              local.arguments(),
              "-Xmx" + workerHeap,
              System.out,
              (rank, exitCode) -> {
                if (exitCode == 0) {
                  return; // workers exit 0 only after the coordinator's Shutdown
                }
                final RemoteTowers t = joined.get();
                final String why = "its process exited with code " + exitCode;
                if (t != null) {
                  t.lost(rank, why);
                } else {
                  System.out.println("launch: tower " + rank + " " + why + " before joining");
                  main.interrupt();
                }
              });
      final WorkerProcesses started = workers;
      final Thread stopOnCtrlC = new Thread(started::destroy, "launch-shutdown");
      Runtime.getRuntime().addShutdownHook(stopOnCtrlC);
      try {
        return RemoteTraining.run(
            checked,
            run,
            transport,
            connection.aeron(),
            kind,
            "127.0.0.1:" + port,
            secret,
            joined::set);
      } catch (InterruptedException e) {
        System.out.println("launch: stopped: a worker exited during start-up (its log is above)");
        return 1;
      } finally {
        started.awaitExit(java.time.Duration.ofSeconds(10));
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
