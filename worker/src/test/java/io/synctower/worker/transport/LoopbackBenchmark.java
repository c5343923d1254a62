package io.synctower.worker.transport;

import io.aeron.Aeron;
import io.aeron.driver.MediaDriver;
import io.aeron.driver.ThreadingMode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.agrona.CloseHelper;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.BusySpinIdleStrategy;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.YieldingIdleStrategy;

/**
 * Runs {@link AllReduceBenchmark} with N members as threads of this JVM on one embedded driver and
 * prints rank 0's table. Not a test; run from the worker module's test classpath:
 *
 * <pre>
 * java --add-exports java.base/jdk.internal.misc=ALL-UNNAMED -cp ... \
 *   io.synctower.worker.transport.LoopbackBenchmark IPC 2 [mtu] [termLength] [minBytes] [maxBytes]
 * </pre>
 */
public final class LoopbackBenchmark {
  private LoopbackBenchmark() {}

  /** {@code -Dbench.idle=busy|yield|spins,yields,minParkNs,maxParkNs}; default: the member's. */
  static IdleStrategy idle() {
    final String spec = System.getProperty("bench.idle", "default");
    if (spec.equals("busy")) {
      return new BusySpinIdleStrategy();
    }
    if (spec.equals("yield")) {
      return new YieldingIdleStrategy();
    }
    if (spec.equals("default")) {
      return null;
    }
    final String[] p = spec.split(",");
    return new BackoffIdleStrategy(
        Long.parseLong(p[0]), Long.parseLong(p[1]), Long.parseLong(p[2]), Long.parseLong(p[3]));
  }

  public static void main(final String[] args) throws Exception {
    final TransportKind kind = TransportKind.valueOf(args.length > 0 ? args[0] : "IPC");
    final int n = args.length > 1 ? Integer.parseInt(args[1]) : 2;
    DataChannels channels = DataChannels.tuned(kind, AeronGroup.endpoints(kind, n));
    if (args.length > 2 && !args[2].equals("-")) {
      channels = channels.withMtu(Integer.parseInt(args[2]));
    }
    if (args.length > 3 && !args[3].equals("-")) {
      channels = channels.withTermLength(Integer.parseInt(args[3]));
    }
    final long minBytes = args.length > 4 ? Long.parseLong(args[4]) : 4 << 10;
    final long maxBytes = args.length > 5 ? Long.parseLong(args[5]) : 64 << 20;
    final ThreadingMode threading =
        ThreadingMode.valueOf(System.getProperty("bench.threading", "SHARED"));
    final Path dir = Files.createTempDirectory(Path.of("/dev/shm"), "aeron-bench-");
    Files.delete(dir);
    System.out.printf(
        "memcpy single thread: %.2f GB/s%n%s, driver %s%n",
        AllReduceBenchmark.memcpyBandwidth(), channels, threading);
    final List<AeronCollective> members = new ArrayList<>();
    final ExecutorService pool = Executors.newFixedThreadPool(n);
    try (MediaDriver driver =
            MediaDriver.launchEmbedded(
                new MediaDriver.Context()
                    .aeronDirectoryName(dir.toString())
                    .dirDeleteOnStart(true)
                    .dirDeleteOnShutdown(true)
                    .threadingMode(threading));
        Aeron aeron =
            Aeron.connect(new Aeron.Context().aeronDirectoryName(driver.aeronDirectoryName()))) {
      for (int r = 0; r < n; r++) {
        members.add(
            new AeronCollective(
                aeron, channels, 0, r, 1L, idle(), Duration.ofSeconds(10), Duration.ofMinutes(1)));
      }
      final List<Future<List<AllReduceBenchmark.Result>>> results = new ArrayList<>();
      for (final AeronCollective m : members) {
        results.add(pool.submit(() -> AllReduceBenchmark.run(m, minBytes, maxBytes, 4)));
      }
      for (final AllReduceBenchmark.Result r : results.get(0).get()) {
        System.out.println(r);
      }
      for (final Future<?> f : results) {
        f.get();
      }
      CloseHelper.closeAll(members);
    } finally {
      pool.shutdownNow();
    }
  }
}
