package io.synctower.coordinator.towers;

import io.synctower.common.backend.NativeThreads;

/**
 * Towers that are threads of this JVM share its cores: each tower thread gets {@code cores / N}
 * native threads (at least 1), as worker processes do ({@code WorkerProcesses} passes the same
 * {@link NativeThreads#share} in {@code OMP_NUM_THREADS}). Without it every tower's ops start an
 * OpenMP team of all cores: measured on the quick start (2 cores), 2 towers ran at 840 samples/s
 * against 1010 for one tower.
 *
 * <pre>{@code
 * CoreShare share = CoreShare.of(towers);     // OpenBLAS: the share, process-wide
 * new Thread(share.wrap(runtime), "tower-0"); // OpenMP: the share, in that thread
 * share.close();                               // OpenBLAS back to what it was
 * }</pre>
 *
 * <p>{@code OMP_NUM_THREADS} set by the user wins: it is then every tower's count (libgomp gives it
 * to every thread, OpenBLAS read it at start-up) and nothing here changes a count. The same team
 * size in threads and processes keeps them bit for bit alike (see {@link NativeThreads}).
 */
public final class CoreShare implements AutoCloseable {
  private final int perTower;
  private final boolean applied;
  private final int blasBefore;

  private CoreShare(final int perTower, final boolean applied, final int blasBefore) {
    this.perTower = perTower;
    this.applied = applied;
    this.blasBefore = blasBefore;
  }

  /** The share for {@code towers} towers on this JVM's processors; sets OpenBLAS's count to it. */
  public static CoreShare of(final int towers) {
    final int share = NativeThreads.share(Runtime.getRuntime().availableProcessors(), towers);
    if (NativeThreads.userSet() || !NativeThreads.cpuBackend()) {
      return new CoreShare(share, false, 0);
    }
    final int before = NativeThreads.blas();
    NativeThreads.setBlas(share);
    return new CoreShare(share, true, before);
  }

  /** Native threads per tower: {@code cores / towers}, at least 1. */
  public int perTower() {
    return perTower;
  }

  /** Whether this share sets thread counts (false: the user's OMP_NUM_THREADS or not CPU). */
  public boolean applied() {
    return applied;
  }

  /** Sizes the calling thread's OpenMP teams to the share (call first thing in a tower thread). */
  public void enter() {
    if (applied) {
      NativeThreads.limitCurrentThread(perTower);
    }
  }

  /** {@code body} run by a tower thread after {@link #enter()}. */
  public Runnable wrap(final Runnable body) {
    return () -> {
      enter();
      body.run();
    };
  }

  /** Gives OpenBLAS back the thread count it had before {@link #of}. */
  @Override
  public void close() {
    if (applied && blasBefore > 0) {
      NativeThreads.setBlas(blasBefore);
    }
  }
}
