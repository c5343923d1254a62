package io.synctower.worker.transport;

import io.aeron.Aeron;
import io.aeron.driver.MediaDriver;
import io.aeron.driver.ThreadingMode;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.UnaryOperator;
import org.agrona.CloseHelper;
import org.agrona.concurrent.BackoffIdleStrategy;

/**
 * N members of one group as threads of this JVM, sharing one embedded media driver (its own
 * directory, deleted on start and shutdown, one shared driver thread: the lightest on 2 cores) and
 * one Aeron client. Closes members, client, driver and threads, in that order. Public for the
 * towers' tests (GradientBucketsTest runs towers over it).
 */
public final class AeronGroup implements AutoCloseable {
  final TransportKind kind;
  final MediaDriver driver;
  final Aeron aeron;
  final DataChannels channels;
  public final List<AeronCollective> members = new ArrayList<>();
  final long runKey;
  private final ExecutorService pool;
  private final String driverDir;

  private AeronGroup(
      final TransportKind kind,
      final int n,
      final long runKey,
      final UnaryOperator<DataChannels> tune,
      final Duration stallTimeout) {
    this.kind = kind;
    this.runKey = runKey;
    this.driverDir = newDriverDir();
    MediaDriver d = null;
    Aeron a = null;
    try {
      d =
          MediaDriver.launchEmbedded(
              new MediaDriver.Context()
                  .aeronDirectoryName(driverDir)
                  .dirDeleteOnStart(true)
                  .dirDeleteOnShutdown(true)
                  .threadingMode(ThreadingMode.SHARED)
                  .sharedIdleStrategy(new BackoffIdleStrategy(100, 10, 1_000, 500_000))
                  .termBufferSparseFile(true));
      a = Aeron.connect(new Aeron.Context().aeronDirectoryName(d.aeronDirectoryName()));
      this.channels = tune.apply(DataChannels.tuned(kind, endpoints(kind, n)));
      for (int r = 0; r < n; r++) {
        members.add(
            new AeronCollective(
                a, channels, 0, r, runKey, null, Duration.ofSeconds(10), stallTimeout));
      }
    } catch (RuntimeException | Error e) {
      CloseHelper.closeAll(members);
      CloseHelper.quietCloseAll(a, d);
      throw e;
    }
    this.driver = d;
    this.aeron = a;
    this.pool = Executors.newFixedThreadPool(n);
  }

  public static AeronGroup start(final TransportKind kind, final int n) {
    return new AeronGroup(kind, n, 0x5EED_CAFEL, UnaryOperator.identity(), Duration.ofSeconds(60));
  }

  static AeronGroup start(
      final TransportKind kind,
      final int n,
      final UnaryOperator<DataChannels> tune,
      final Duration stallTimeout) {
    return new AeronGroup(kind, n, 0x5EED_CAFEL, tune, stallTimeout);
  }

  /** Free loopback ports for UDP (a small race with other programs is acceptable in tests). */
  static List<String> endpoints(final TransportKind kind, final int n) {
    final List<String> out = new ArrayList<>();
    for (int r = 0; r < n; r++) {
      if (kind == TransportKind.IPC) {
        out.add("ipc");
      } else {
        try (DatagramSocket s = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
          out.add("127.0.0.1:" + s.getLocalPort());
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      }
    }
    return out;
  }

  private static String newDriverDir() {
    try {
      final Path shm = Path.of("/dev/shm");
      final Path parent = Files.isDirectory(shm) && Files.isWritable(shm) ? shm : null;
      final Path dir =
          parent == null
              ? Files.createTempDirectory("aeron-test-")
              : Files.createTempDirectory(parent, "aeron-test-");
      Files.delete(dir); // the driver creates it (dirDeleteOnStart)
      return dir.toString();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  int size() {
    return members.size();
  }

  /** Runs body(member) on each member's thread; results by rank; rethrows the first failure. */
  <T> List<T> onMembers(final Function<AeronCollective, T> body) throws Exception {
    final List<Future<T>> futures = new ArrayList<>();
    for (final AeronCollective m : members) {
      futures.add(pool.submit(() -> body.apply(m)));
    }
    final List<T> out = new ArrayList<>();
    Exception first = null;
    for (final Future<T> f : futures) {
      try {
        out.add(f.get(60, TimeUnit.SECONDS));
      } catch (ExecutionException e) {
        out.add(null);
        if (first == null) {
          first = e;
        }
      }
    }
    if (first != null) {
      throw first;
    }
    return out;
  }

  /** Submits body on a member's thread without waiting. */
  <T> Future<T> submit(final int rank, final Function<AeronCollective, T> body) {
    final AeronCollective m = members.get(rank);
    return pool.submit(() -> body.apply(m));
  }

  boolean driverDirExists() {
    return new File(driverDir).exists();
  }

  /**
   * Live threads this group started: the driver's (named after its directory), the Aeron client's
   * conductor and executor, and the members' pool.
   */
  List<String> liveThreads() {
    final List<String> out = new ArrayList<>();
    for (final Thread t : Thread.getAllStackTraces().keySet()) {
      final String name = t.getName();
      if (t.isAlive() && (name.contains(driverDir) || name.startsWith("aeron-"))) {
        out.add(name);
      }
    }
    if (!pool.isTerminated()) {
      out.add("member pool");
    }
    return out;
  }

  @Override
  public void close() throws InterruptedException {
    for (final AeronCollective m : members) {
      m.abort(new IllegalStateException("test over"));
    }
    pool.shutdownNow();
    pool.awaitTermination(10, TimeUnit.SECONDS);
    CloseHelper.closeAll(members);
    CloseHelper.closeAll(aeron, driver);
  }
}
