package io.synctower.common.backend;

import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.nativeblas.NativeOpsHolder;

/**
 * How many native threads ND4J's CPU ops use, and the one rule for dividing a host's cores among
 * the towers that share it.
 *
 * <p>Two thread pools do the work on the CPU backend:
 *
 * <ul>
 *   <li>OpenMP (the {@code libgomp.so.1} ND4J bundles next to {@code libnd4jcpu.so}), used by
 *       libnd4j's loops and oneDNN. Its team size is <em>per calling thread</em>: {@code
 *       omp_set_num_threads} called from a thread sizes the parallel regions that thread starts
 *       later, and no other thread's. libnd4j's {@code setOmpNumThreads} / {@code ompGetMaxThreads}
 *       are exactly {@code omp_set_num_threads} / {@code omp_get_max_threads} (checked in the
 *       1.0.0-M2.1 binary), so {@link #limitCurrentThread} sizes one tower thread's ops.
 *   <li>OpenBLAS (pthreads build, for GEMM): one thread count for the whole process, so the towers
 *       of one JVM can only share it.
 * </ul>
 *
 * <p>Results depend on the OpenMP team size: measured on the quick start (float32 and float64),
 * five steps on one OpenMP thread and on two differ in the last bits (the same team size always
 * gives the same bits; the OpenBLAS count and libnd4j's {@code Environment.maxThreads} changed
 * nothing). So threads and worker processes must give a tower the same team size for the two to
 * train bit for bit alike: both use {@link #share}.
 */
public final class NativeThreads {
  /**
   * The variable that fixes the per-tower count by hand: libgomp reads it for every thread,
   * OpenBLAS and libnd4j at start-up, and worker processes inherit it.
   */
  public static final String ENVIRONMENT = "OMP_NUM_THREADS";

  private NativeThreads() {}

  /**
   * Native threads for each of {@code towers} towers sharing {@code cores} cores: {@code cores /
   * towers}, at least 1 (more towers than cores: one each, and they take turns).
   */
  public static int share(final int cores, final int towers) {
    if (cores < 1 || towers < 1) {
      throw new IllegalArgumentException(
          "cores and towers must be >= 1, got cores=" + cores + ", towers=" + towers);
    }
    return Math.max(1, cores / towers);
  }

  /** Whether the user fixed the per-tower count with {@value #ENVIRONMENT}: then leave it alone. */
  public static boolean userSet() {
    return System.getenv(ENVIRONMENT) != null;
  }

  /** Whether the loaded backend is ND4J's CPU backend (the only one these counts apply to). */
  public static boolean cpuBackend() {
    return Nd4j.getEnvironment().isCPU();
  }

  /**
   * Sizes the OpenMP teams of the ND4J ops the calling thread runs from now on. No effect on other
   * threads; does nothing on a non-CPU backend (CUDA's {@code setOmpNumThreads} means something
   * else).
   */
  public static void limitCurrentThread(final int threads) {
    if (threads < 1) {
      throw new IllegalArgumentException("native threads must be >= 1, got " + threads);
    }
    if (cpuBackend()) {
      NativeOpsHolder.getInstance().getDeviceNativeOps().setOmpNumThreads(threads);
    }
  }

  /**
   * The OpenMP team size the calling thread's next ND4J op gets ({@code omp_get_max_threads} in
   * this thread), or 0 on a non-CPU backend.
   */
  public static int currentThread() {
    return cpuBackend() ? NativeOpsHolder.getInstance().getDeviceNativeOps().ompGetMaxThreads() : 0;
  }

  /** OpenBLAS's thread count (process-wide). */
  public static int blas() {
    return Nd4j.factory().blas().getMaxThreads();
  }

  /** Sets OpenBLAS's thread count for the whole process (CPU backend only). */
  public static void setBlas(final int threads) {
    if (threads < 1) {
      throw new IllegalArgumentException("BLAS threads must be >= 1, got " + threads);
    }
    if (cpuBackend()) {
      Nd4j.factory().blas().setMaxThreads(threads);
    }
  }
}
