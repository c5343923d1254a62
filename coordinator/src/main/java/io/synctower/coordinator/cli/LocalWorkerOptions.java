package io.synctower.coordinator.cli;

import io.synctower.worker.remote.ControlChannels;
import io.synctower.worker.transport.TransportKind;
import java.io.PrintStream;
import java.nio.file.Path;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Options of the commands that start worker processes on this host ({@code launch}, {@code scale
 * --transport ipc|udp}): where the coordinator listens, the workers' heap, and the Aeron options.
 */
final class LocalWorkerOptions {
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

  @Mixin TransportOptions transport = new TransportOptions();

  /** Refuses heartbeat settings that would lose healthy towers; call before starting anything. */
  void check() {
    transport.checkHeartbeats();
  }

  /**
   * The workers of one run.
   *
   * @param out where the workers' logs and the launcher's messages go
   */
  LocalLaunch.Workers workers(
      final int towers, final TransportKind kind, final Path dataBase, final PrintStream out) {
    return new LocalLaunch.Workers(towers, kind, port, transport, dataBase, workerHeap, out);
  }
}
