package io.synctower.worker;

import io.synctower.common.comm.Collective;
import io.synctower.common.config.ConfigException;
import io.synctower.worker.transport.AeronCollective;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Whether and in what buckets a tower's gradient all-reduce overlaps its backward pass ({@link
 * GradientBuckets}), per transport: on for worker processes (an {@link AeronCollective}), where
 * sending is real work that can hide behind compute; off for towers that are threads of one JVM,
 * whose all-reduce is a few memory passes that only compete with backward for the same cores. The
 * bits of the result are the same either way.
 *
 * <p>CPU backend only: on CUDA an array's host and device copies are tracked per buffer, and a
 * communication thread that syncs and tags the gradient buffer's host copy while the tower's thread
 * writes other layers' gradients on the device would lose one side's writes; there {@link Tower}
 * keeps the one-round step whatever is asked ({@link #possible}).
 *
 * <p>{@value #ENV} overrides the default in every process that reads it (worker processes inherit
 * it from {@code launch}): the bucket size in MiB (a decimal, e.g. {@code 0.5}), {@code 0} for one
 * round after backward.
 */
public final class AllReduceOverlap {
  /** The environment variable that sets the bucket size in MiB; 0 turns the overlap off. */
  public static final String ENV = "SYNCTOWER_ALLREDUCE_BUCKET_MB";

  /**
   * Bucket size for worker processes. PyTorch DDP caps buckets at 25 MB (its first at 1 MB), but
   * SyncTower's models are small: the quick start's gradients are 0.35 MiB and seed 000's captcha
   * model's 5.2 MiB, so 25 MiB would be one bucket after backward, i.e. no overlap. 1 MiB gives the
   * captcha model 5-6 buckets; measured in README "Worker processes and hosts".
   */
  public static final long PROCESS_BUCKET_BYTES = 1L << 20;

  private AllReduceOverlap() {}

  /** The bucket size in bytes for a tower reducing over {@code world}; 0 for no overlap. */
  public static long forWorld(final Collective world) {
    return forWorld(world, System.getenv());
  }

  static long forWorld(final Collective world, final Map<String, String> env) {
    final String value = env.get(ENV);
    if (value != null && !value.isBlank()) {
      return parseMiB(value.trim());
    }
    return world instanceof AeronCollective ? PROCESS_BUCKET_BYTES : 0;
  }

  /** Whether this JVM's ND4J backend keeps arrays in host memory only (the CPU backend). */
  public static boolean possible() {
    return "org.nd4j.linalg.cpu.nativecpu.CpuBackend"
        .equals(Nd4j.getBackend().getClass().getName());
  }

  static long parseMiB(final String value) {
    double mib;
    try {
      mib = Double.parseDouble(value);
    } catch (NumberFormatException e) {
      mib = Double.NaN;
    }
    if (!Double.isFinite(mib) || mib < 0 || mib > 1 << 20) {
      throw new ConfigException(
          "environment",
          List.of(
              ENV
                  + " = '"
                  + value
                  + "': expected the gradient bucket size in MiB, e.g. 1 or 0.5, or 0 to send"
                  + " the gradients in one round after backward"));
    }
    return (long) Math.ceil(mib * (1 << 20));
  }
}
