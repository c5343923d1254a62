package io.synctower.coordinator.cli;

import io.synctower.common.config.ConfigException;
import io.synctower.worker.remote.ControlChannels;
import io.synctower.worker.transport.TransportKind;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
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

  /** The smallest --worker-heap accepted: below it a worker JVM cannot even build a tower. */
  static final long MIN_HEAP_BYTES = 64L << 20;

  /**
   * Refuses a port, a heap size or heartbeat settings that could only fail once the worker JVMs
   * run; call before starting anything.
   */
  void check() {
    TransportOptions.checkPort("--port", port);
    checkHeap(workerHeap);
    transport.checkHeartbeats();
  }

  /**
   * The heap as the JVM's -Xmx reads it: digits and an optional k, m, g or t. Checked here because
   * a JVM given "-Xmxfoo" exits at once and the run would stop with a worker's cryptic log.
   */
  static void checkHeap(final String heap) {
    final java.util.regex.Matcher m =
        java.util.regex.Pattern.compile("([0-9]{1,12})([kKmMgGtT]?)").matcher(heap);
    final long bytes;
    if (!m.matches()) {
      bytes = -1;
    } else {
      final int shift =
          switch (m.group(2).toLowerCase(java.util.Locale.ROOT)) {
            case "k" -> 10;
            case "m" -> 20;
            case "g" -> 30;
            case "t" -> 40;
            default -> 0;
          };
      bytes = Long.parseLong(m.group(1)) << shift;
    }
    if (bytes < MIN_HEAP_BYTES) {
      throw new ConfigException(
          "--worker-heap",
          List.of(
              "--worker-heap '"
                  + heap
                  + "' is not a Java heap size of at least 64m: give a number with k, m or g,"
                  + " e.g. 2g or 1536m (tensors live off-heap; the default is 2g)"));
    }
  }

  /**
   * The workers of one run.
   *
   * @param out where the workers' logs and the launcher's messages go
   */
  LocalLaunch.Workers workers(
      final int towers, final TransportKind kind, final Path dataBase, final PrintStream out) {
    if (kind == TransportKind.UDP) {
      // Worker r listens on 40200 + r + (port - 40100): the last one must be a port too.
      final long lastWorkerPort =
          (long) ControlChannels.WORKER_PORT
              + (port - ControlChannels.COORDINATOR_PORT)
              + towers
              - 1;
      if (lastWorkerPort > TransportOptions.MAX_PORT) {
        throw new ConfigException(
            "--port",
            List.of(
                "--port "
                    + port
                    + " puts worker "
                    + (towers - 1)
                    + " on UDP port "
                    + lastWorkerPort
                    + ", above "
                    + TransportOptions.MAX_PORT
                    + ": use a --port of at most "
                    + (TransportOptions.MAX_PORT
                        - (ControlChannels.WORKER_PORT - ControlChannels.COORDINATOR_PORT)
                        - towers
                        + 1)));
      }
    }
    return new LocalLaunch.Workers(towers, kind, port, transport, dataBase, workerHeap, out);
  }
}
