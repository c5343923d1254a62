package io.synctower.coordinator.cli;

import io.aeron.driver.MediaDriver;
import io.synctower.coordinator.launch.WorkerProcesses;
import io.synctower.worker.remote.AeronConnection;
import io.synctower.worker.remote.MediaDrivers;
import io.synctower.worker.transport.AeronCollective;
import io.synctower.worker.transport.AllReduceBenchmark;
import io.synctower.worker.transport.TransportKind;
import java.io.IOException;
import java.net.DatagramSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.ThreadLocalRandom;
import org.agrona.CloseHelper;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code synctower bench allreduce}: the Aeron all-reduce between N processes of this host. */
@Command(
    name = "allreduce",
    mixinStandardHelpOptions = true,
    description = {
      "Time the all-reduce between --towers processes of this host over Aeron (ipc or udp on",
      "loopback), float32, 4 KiB to 64 MiB: median time, algorithm bandwidth (bytes / time) and",
      "bus bandwidth (algbw x 2(N-1)/N, as nccl-tests), and this machine's single-thread memcpy",
      "bandwidth as the ceiling to compare with."
    })
final class BenchAllReduce implements Callable<Integer> {
  @Option(
      names = "--transport",
      defaultValue = "IPC",
      description = "ipc or udp (default ${DEFAULT-VALUE}).")
  TransportKind kind;

  @Option(
      names = "--towers",
      defaultValue = "2",
      description = "Processes (default ${DEFAULT-VALUE}).")
  int towers;

  @Option(
      names = "--min-bytes",
      defaultValue = "4096",
      description = "Smallest size (default 4 KiB); sizes grow x4 from it.")
  long minBytes;

  @Option(
      names = "--max-bytes",
      defaultValue = "67108864",
      description = "Largest size (default 64 MiB).")
  long maxBytes;

  // Set by the benchmark for the processes it starts; not for users.
  @Option(names = "--member", hidden = true)
  Integer member;

  @Option(names = "--aeron-dir", hidden = true)
  String aeronDir;

  @Option(names = "--endpoints", hidden = true, split = ",")
  List<String> endpoints;

  @Option(names = "--run-key", hidden = true)
  long runKey;

  @Override
  public Integer call() throws Exception {
    return member != null ? runMember(member) : runLeader();
  }

  private int runLeader() throws Exception {
    if (towers < 2) {
      throw new picocli.CommandLine.ParameterException(
          new picocli.CommandLine(this), "--towers must be at least 2, got " + towers);
    }
    final List<String> eps = new ArrayList<>();
    for (int r = 0; r < towers; r++) {
      eps.add("127.0.0.1:" + freePort());
    }
    endpoints = eps;
    runKey = ThreadLocalRandom.current().nextLong();
    MediaDriver driver = null;
    WorkerProcesses others = null;
    try {
      if (kind == TransportKind.IPC) {
        driver = MediaDrivers.launchEmbedded("bench");
        aeronDir = driver.aeronDirectoryName();
      }
      final List<List<String>> args = new ArrayList<>();
      for (int r = 1; r < towers; r++) {
        final List<String> a =
            new ArrayList<>(
                List.of(
                    "bench",
                    "allreduce",
                    "--transport",
                    kind.name(),
                    "--towers",
                    "" + towers,
                    "--min-bytes",
                    "" + minBytes,
                    "--max-bytes",
                    "" + maxBytes,
                    "--member",
                    "" + r,
                    "--endpoints",
                    String.join(",", eps),
                    "--run-key",
                    "" + runKey));
        if (aeronDir != null) {
          a.addAll(List.of("--aeron-dir", aeronDir));
        }
        args.add(a);
      }
      others =
          WorkerProcesses.start(
              args,
              "-Xmx1g",
              System.out,
              (rank, code) -> {
                if (code != 0) {
                  System.out.println("bench: member " + rank + " exited with code " + code);
                }
              });
      System.out.printf(
          Locale.ROOT,
          "bench allreduce: %d processes over Aeron %s, float32; memcpy (1 thread) %.2f GB/s%n",
          towers,
          kind,
          AllReduceBenchmark.memcpyBandwidth());
      System.out.printf(
          Locale.ROOT, "%12s %14s %16s %16s%n", "bytes", "median us", "algbw GB/s", "busbw GB/s");
      for (final AllReduceBenchmark.Result r : measure(0)) {
        System.out.printf(
            Locale.ROOT,
            "%12d %14.1f %16.3f %16.3f%n",
            r.bytes(),
            r.medianNanos() / 1e3,
            r.algbwGBps(),
            r.busbwGBps());
      }
      others.awaitExit(Duration.ofSeconds(30));
      return 0;
    } finally {
      if (others != null) {
        others.destroy();
      }
      CloseHelper.close(driver);
    }
  }

  private int runMember(final int rank) {
    measure(rank);
    return 0;
  }

  private List<AllReduceBenchmark.Result> measure(final int rank) {
    // IPC: every member uses the leader's driver; UDP: each its own, as between hosts.
    try (AeronConnection c =
            AeronConnection.open("bench" + rank, kind == TransportKind.UDP ? null : aeronDir);
        AeronCollective collective =
            new AeronCollective(
                c.aeron(), kind, endpoints, 0, rank, runKey, null, Duration.ofSeconds(60))) {
      collective.connect();
      return AllReduceBenchmark.run(collective, minBytes, maxBytes, 4);
    }
  }

  private static int freePort() throws IOException {
    try (DatagramSocket s = new DatagramSocket(0)) {
      return s.getLocalPort();
    }
  }
}
