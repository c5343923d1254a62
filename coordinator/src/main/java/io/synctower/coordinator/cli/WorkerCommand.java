package io.synctower.coordinator.cli;

import io.synctower.common.config.ConfigException;
import io.synctower.common.config.ConfigLoader;
import io.synctower.common.config.RunConfig;
import io.synctower.common.nn.Model;
import io.synctower.coordinator.cluster.ClusterEnvironment;
import io.synctower.coordinator.launch.LaunchFiles;
import io.synctower.worker.TowerRuntime;
import io.synctower.worker.assembly.GroupOpener;
import io.synctower.worker.assembly.Replicas;
import io.synctower.worker.assembly.TowerAssembly;
import io.synctower.worker.assembly.TrainingData;
import io.synctower.worker.remote.AeronConnection;
import io.synctower.worker.remote.ControlChannels;
import io.synctower.worker.remote.WorkerEndpoint;
import io.synctower.worker.transport.TransportKind;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.BooleanSupplier;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code synctower worker}: one tower as a process, joining a coordinator. */
@Command(
    name = "worker",
    mixinStandardHelpOptions = true,
    description = {
      "Run one tower as a process: join the coordinator, build the replica from the",
      "configuration it sends, train until it says stop. Rank, world size, coordinator and",
      "device come from the flags, else RANK/WORLD_SIZE/LOCAL_RANK/COORDINATOR, else Slurm",
      "(SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID, SLURM_JOB_NODELIST), else a Kubernetes",
      "indexed Job (JOB_COMPLETION_INDEX)."
    })
final class WorkerCommand implements Callable<Integer> {
  @Mixin TransportOptions transport = new TransportOptions();

  @Option(names = "--rank", description = "This tower's rank, 0..N-1.")
  Integer rank;

  @Option(names = "--world-size", description = "Number of towers N (the coordinator's --towers).")
  Integer worldSize;

  @Option(
      names = "--coordinator",
      paramLabel = "HOST:PORT",
      description = "The coordinator's address (UDP).")
  String coordinator;

  @Option(names = "--device", description = "Device to bind (default: the local rank).")
  Integer device;

  @Option(
      names = "--transport",
      defaultValue = "UDP",
      description = "udp or ipc (same host as the coordinator; default ${DEFAULT-VALUE}).")
  TransportKind kind;

  @Option(
      names = "--bind",
      paramLabel = "HOST",
      defaultValue = "127.0.0.1",
      description = "Interface to listen on (default ${DEFAULT-VALUE}: this host only).")
  String bind;

  @Option(
      names = "--advertise",
      paramLabel = "HOST",
      description = "Address the others use to reach this worker (default: --bind).")
  String advertise;

  @Option(
      names = "--port",
      description = "UDP port for control and collective traffic (default 40200 + local rank).")
  Integer port;

  @Option(
      names = "--data-dir",
      paramLabel = "DIR",
      defaultValue = ".",
      description = "Relative data paths of the configuration resolve here (default: cwd).")
  Path dataDir;

  @Option(
      names = "--launcher-pid",
      hidden = true,
      description = {
        "Set by `synctower launch`: its pid. When that process is gone (killed without cleaning",
        "up), this worker stops and deletes the launch's temporary secret and Aeron directory."
      })
  Long launcherPid;

  @Override
  public Integer call() throws Exception {
    transport.checkHeartbeats();
    if (kind == TransportKind.UDP) {
      if (port != null) {
        TransportOptions.checkPort("--port", port);
      }
      TransportOptions.checkHost("--bind", bind);
    }
    final Map<String, String> env = System.getenv();
    final String coordinatorAddress =
        kind == TransportKind.IPC && coordinator == null && env.get("COORDINATOR") == null
            ? "127.0.0.1:" + ControlChannels.COORDINATOR_PORT // unused over IPC
            : coordinator;
    final ClusterEnvironment cluster =
        ClusterEnvironment.resolve(rank, worldSize, coordinatorAddress, device, env);
    final byte[] secret = transport.secret(env);
    final String host = advertise != null ? advertise : bind;
    if (kind == TransportKind.UDP && (host.equals("0.0.0.0") || host.equals("::"))) {
      throw new ConfigException(
          "--advertise",
          List.of(
              "--bind "
                  + bind
                  + " listens on every interface, so the other towers need an address to reach"
                  + " this one: pass --advertise with this host's address"));
    }
    if (kind == TransportKind.IPC && transport.aeronDir == null) {
      throw new ConfigException(
          "--aeron-dir",
          List.of(
              "--transport ipc shares the coordinator's media driver: pass its directory with"
                  + " --aeron-dir (synctower launch does this for you)"));
    }
    final int udpPort = port != null ? port : ControlChannels.WORKER_PORT + cluster.localRank();
    final WorkerEndpoint.Options options =
        new WorkerEndpoint.Options(
            cluster.rank(),
            cluster.worldSize(),
            cluster.device(),
            kind,
            cluster.coordinatorHost() + ":" + cluster.coordinatorPort(),
            bind + ":" + udpPort,
            host + ":" + udpPort,
            secret,
            transport.heartbeatInterval,
            transport.heartbeatTimeout,
            transport.joinTimeout);
    System.out.printf(
        "tower %d of %d: %s; coordinator %s%n",
        cluster.rank(),
        cluster.worldSize(),
        cluster.source(),
        kind == TransportKind.IPC ? "over IPC" : options.coordinatorEndpoint());
    final BooleanSupplier launcherGone = launcherGone();
    try (AeronConnection c = AeronConnection.open("worker" + cluster.rank(), transport.aeronDir);
        WorkerEndpoint endpoint = new WorkerEndpoint(c.aeron(), options, System.out)) {
      if (launcherPid != null) {
        endpoint.stopWhenGone("launch (pid " + launcherPid + ")", launcherGone);
      }
      final int exit =
          endpoint.run((w, g, in, rep, ab) -> buildTower(w, g, in, rep, ab, options.device()));
      System.out.println("tower " + cluster.rank() + ": stopped; " + endpoint.rejections());
      return exit;
    } finally {
      if (launcherPid != null && launcherGone.getAsBoolean()) {
        cleanUpAfterLauncher(cluster.rank());
      }
    }
  }

  /** Whether the launch that started this worker has ended; never, without --launcher-pid. */
  private BooleanSupplier launcherGone() {
    if (launcherPid == null) {
      return () -> false;
    }
    // The handle knows the process's start time, so a recycled pid is not mistaken for it.
    final ProcessHandle launcher = ProcessHandle.of(launcherPid).orElse(null);
    return () -> launcher == null || !launcher.isAlive();
  }

  private void cleanUpAfterLauncher(final int rank) {
    if (transport.secretFile == null) {
      return; // launch always passes --secret-file: without one this is not a launch's worker
    }
    final String deleted =
        LaunchFiles.deleteOrphaned(transport.secretFile, transport.aeronDir, launcherPid);
    if (!deleted.isEmpty()) {
      System.out.println(
          "tower " + rank + ": launch (pid " + launcherPid + ") is gone; deleted " + deleted);
    }
  }

  /** Runs on the tower thread: the same tower the in-process trainer builds. */
  private TowerRuntime buildTower(
      final io.synctower.common.protocol.Join.Welcome welcome,
      final GroupOpener groups,
      final java.util.concurrent.BlockingQueue<io.synctower.common.protocol.Command> inbox,
      final java.util.function.Consumer<io.synctower.common.protocol.Report> reports,
      final Runnable abort,
      final int towerDevice) {
    final RunConfig config =
        ConfigLoader.parse(welcome.configYaml(), "the coordinator's configuration", Map.of());
    if (config.towers() != welcome.worldSize()) {
      throw new IllegalArgumentException(
          "tower "
              + welcome.rank()
              + " joined a world of "
              + welcome.worldSize()
              + " towers, but the coordinator's configuration says towers: "
              + config.towers());
    }
    final TrainingData data = TrainingData.load(config, dataDir);
    final TowerAssembly assembly = new TowerAssembly(welcome.runId(), config, data);
    final Model model = Replicas.newModel(config, data);
    return assembly.runtime(welcome.rank(), towerDevice, model, groups, inbox, reports, abort);
  }
}
