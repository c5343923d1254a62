package io.synctower.coordinator.cli;

import io.synctower.worker.remote.AeronConnection;
import io.synctower.worker.remote.ControlChannels;
import io.synctower.worker.transport.TransportKind;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code synctower coordinator}: the control plane of a run whose towers are started elsewhere. */
@Command(
    name = "coordinator",
    mixinStandardHelpOptions = true,
    description = {
      "Plan a run whose towers are worker processes started separately (`synctower worker`,",
      "e.g. by Slurm or Kubernetes): wait for --towers workers to join, then train.",
      "Listens on UDP --bind:--port (default 127.0.0.1:40100; open it to the workers' hosts).",
      "--resume RUN_DIR: continue a stopped run from its latest checkpoint, as train",
      "does. Every worker reads the checkpoint from RUN_DIR: on several hosts it must",
      "be on a file system they all share."
    })
final class CoordinatorCommand implements Callable<Integer> {
  @Mixin ConfigOptions configOptions = new ConfigOptions();
  @Mixin ResumeOptions resume = new ResumeOptions();
  @Mixin RunOptions run = new RunOptions();
  @Mixin TransportOptions transport = new TransportOptions();

  @Option(
      names = "--transport",
      defaultValue = "UDP",
      description = "udp (workers on any host) or ipc (this host only; default ${DEFAULT-VALUE}).")
  TransportKind kind;

  @Option(
      names = "--bind",
      paramLabel = "HOST",
      defaultValue = "127.0.0.1",
      description = "Interface to listen on (default ${DEFAULT-VALUE}: this host only).")
  String bind;

  @Option(
      names = "--port",
      defaultValue = "" + ControlChannels.COORDINATOR_PORT,
      description = "UDP port to listen on (default ${DEFAULT-VALUE}).")
  int port;

  @Override
  public Integer call() throws Exception {
    transport.checkHeartbeats();
    if (kind == TransportKind.UDP) {
      TransportOptions.checkPort("--port", port);
      TransportOptions.checkHost("--bind", bind);
    }
    final byte[] secret = transport.secret(System.getenv());
    // Bad input (and a checkpoint that cannot be resumed) is reported before the transport
    // starts and before any worker could join.
    try (RunStart start = RunStart.of(resume, configOptions, run, false, System.out);
        AeronConnection c = AeronConnection.open("coordinator", transport.aeronDir)) {
      return RemoteTraining.run(
          start,
          "coordinator",
          run,
          transport,
          c.aeron(),
          kind,
          bind + ":" + port,
          secret,
          t -> {});
    }
  }
}
