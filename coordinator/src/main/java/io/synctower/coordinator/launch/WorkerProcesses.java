package io.synctower.coordinator.launch;

import io.synctower.common.backend.NativeMemoryReuse;
import io.synctower.common.backend.NativeThreads;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The worker processes {@code synctower launch} starts on this host: one child JVM per tower, its
 * output streamed line by line with a {@code [tower r]} prefix, a callback when one exits while the
 * run still needs it, and a {@link #destroy} that leaves no process behind.
 *
 * <pre>{@code
 * WorkerProcesses workers = WorkerProcesses.start(commands, "-Xmx2g", System.out, onExit);
 * ... train ...
 * workers.awaitExit(Duration.ofSeconds(10));   // they exit after the coordinator's Shutdown
 * workers.destroy();                           // whatever is left: TERM, then KILL after 3 s
 * }</pre>
 */
public final class WorkerProcesses {
  /** Called (on a JVM thread) when worker {@code rank} exits unexpectedly. */
  @FunctionalInterface
  public interface ExitListener {
    void exited(int rank, int exitCode);
  }

  private final List<Process> processes = new ArrayList<>();
  private final List<Thread> pumps = new ArrayList<>();
  private volatile boolean stopping;

  private WorkerProcesses() {}

  /** Starts one child JVM per entry of {@code args} (the SyncTower CLI arguments of tower r). */
  public static WorkerProcesses start(
      final List<List<String>> args,
      final String maxHeap,
      final PrintStream out,
      final ExitListener onUnexpectedExit) {
    final WorkerProcesses w = new WorkerProcesses();
    try {
      for (int r = 0; r < args.size(); r++) {
        final ProcessBuilder builder =
            new ProcessBuilder(ChildJvm.command(maxHeap, args.get(r))).redirectErrorStream(true);
        prepareEnvironment(builder.environment(), args.size());
        final Process p = builder.start();
        w.processes.add(p);
        final int rank = r;
        final Thread pump = new Thread(() -> pump(p, "[tower " + rank + "] ", out), "log-" + r);
        pump.setDaemon(true);
        pump.start();
        w.pumps.add(pump);
        p.onExit()
            .thenAccept(
                done -> {
                  if (!w.stopping) {
                    onUnexpectedExit.exited(rank, done.exitValue());
                  }
                });
      }
    } catch (IOException e) {
      w.destroy();
      throw new UncheckedIOException("cannot start a worker process", e);
    }
    return w;
  }

  /**
   * A worker's environment, from a copy of this JVM's: its share of the cores, and the allocator
   * settings, which glibc reads at process start, so a worker must get them from here whatever
   * started this JVM (bin/synctower exports them; a test or IDE run may not). Values already set
   * win.
   */
  static void prepareEnvironment(final Map<String, String> environment, final int workers) {
    shareCores(environment, workers);
    NativeMemoryReuse.addTo(environment);
  }

  /**
   * N worker processes on one host share its cores: each gets {@code cores / N} native threads (at
   * least 1), unless the user set OMP_NUM_THREADS. Without this every process starts one OpenMP
   * thread per core and they fight over the cores (measured: 2 workers on 2 cores ran about 2x
   * slower per step). Towers as threads get the same share ({@code CoreShare}): a tower's results
   * depend on its OpenMP team size, so this keeps processes and threads bit for bit alike.
   */
  static void shareCores(final Map<String, String> environment, final int workers) {
    // The child's environment starts as a copy of this JVM's: a user's OMP_NUM_THREADS is there.
    if (!environment.containsKey(NativeThreads.ENVIRONMENT)) {
      final int cores = Runtime.getRuntime().availableProcessors();
      environment.put(
          NativeThreads.ENVIRONMENT, Integer.toString(NativeThreads.share(cores, workers)));
    }
  }

  private static void pump(final Process p, final String prefix, final PrintStream out) {
    try (BufferedReader in =
        new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = in.readLine()) != null) {
        out.println(prefix + line);
      }
    } catch (IOException e) {
      // The process is gone; its exit is reported by the exit listener.
    }
  }

  /** Waits up to {@code timeout} for every worker to exit by itself (after Shutdown). */
  public void awaitExit(final Duration timeout) throws InterruptedException {
    stopping = true;
    final long deadline = System.nanoTime() + timeout.toNanos();
    for (final Process p : processes) {
      final long left = deadline - System.nanoTime();
      if (left > 0) {
        p.waitFor(left, TimeUnit.NANOSECONDS);
      }
    }
  }

  /** Stops every worker still running: TERM, then KILL after 3 s. Idempotent. */
  public void destroy() {
    stopping = true;
    for (final Process p : processes) {
      p.descendants().forEach(ProcessHandle::destroy);
      p.destroy();
    }
    for (final Process p : processes) {
      try {
        if (!p.waitFor(3, TimeUnit.SECONDS)) {
          p.destroyForcibly();
          p.waitFor(3, TimeUnit.SECONDS);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        p.destroyForcibly();
      }
    }
    for (final Thread t : pumps) {
      try {
        t.join(1000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** The worker processes, by rank (for tests). */
  public List<ProcessHandle> handles() {
    return processes.stream().map(Process::toHandle).toList();
  }
}
