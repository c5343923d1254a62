package io.synctower.coordinator.launch;

import io.synctower.worker.transport.TransportKind;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The {@code synctower worker} arguments of the towers of a run on this host: ranks 0..N-1, the
 * coordinator on loopback, worker r on UDP port {@code firstWorkerPort + r}, and over IPC the
 * coordinator's media driver directory.
 *
 * @param aeronDir the coordinator's driver directory (IPC), or null
 * @param devices devices on this host: worker r binds device {@code r % devices}
 * @param dataDir where relative data paths of the configuration resolve
 */
public record LocalWorkers(
    TransportKind transport,
    int towers,
    int devices,
    Path secretFile,
    int coordinatorPort,
    int firstWorkerPort,
    String aeronDir,
    Path dataDir,
    Duration heartbeatInterval,
    Duration heartbeatTimeout,
    Duration joinTimeout) {

  /** One argument list per tower, by rank. */
  public List<List<String>> arguments() {
    final List<List<String>> all = new ArrayList<>();
    for (int r = 0; r < towers; r++) {
      final List<String> args =
          new ArrayList<>(
              List.of(
                  "worker",
                  "--rank",
                  Integer.toString(r),
                  "--world-size",
                  Integer.toString(towers),
                  "--transport",
                  transport.name(),
                  "--secret-file",
                  secretFile.toAbsolutePath().toString(),
                  "--coordinator",
                  "127.0.0.1:" + coordinatorPort,
                  "--port",
                  Integer.toString(firstWorkerPort + r),
                  "--device",
                  Integer.toString(r % Math.max(1, devices)),
                  "--data-dir",
                  dataDir.toAbsolutePath().toString(),
                  "--heartbeat-interval",
                  heartbeatInterval.toMillis() + "ms",
                  "--heartbeat-timeout",
                  heartbeatTimeout.toMillis() + "ms",
                  "--join-timeout",
                  joinTimeout.toSeconds() + "s"));
      if (transport == TransportKind.IPC) {
        args.add("--aeron-dir");
        args.add(aeronDir);
      }
      all.add(args);
    }
    return all;
  }
}
