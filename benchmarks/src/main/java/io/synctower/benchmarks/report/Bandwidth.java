package io.synctower.benchmarks.report;

/**
 * Bandwidth arithmetic, as nccl-tests define it, in 10^9 bytes per second.
 *
 * <p>A ring all-reduce of S bytes over N members sends and receives 2(N-1)/N x S bytes per member
 * (reduce-scatter, then all-gather: N-1 steps of S/N each), so its <em>bus bandwidth</em> {@code
 * 2(N-1)/N x S / t} is what each member's link carried, comparable across group sizes and with the
 * memory or link bandwidth of the hardware. A copy of S bytes moves S bytes.
 */
public final class Bandwidth {
  private Bandwidth() {}

  /**
   * Bus bandwidth of an all-reduce of {@code bytes} per member over {@code members} in {@code
   * seconds}.
   */
  public static double busGBps(final long bytes, final double seconds, final int members) {
    if (members < 2) {
      throw new IllegalArgumentException(
          "bus bandwidth needs at least 2 members, got " + members + " (one member moves nothing)");
    }
    return algorithmGBps(bytes, seconds) * 2.0 * (members - 1) / members;
  }

  /** Algorithm bandwidth, {@code bytes / seconds}; also a copy's bandwidth. */
  public static double algorithmGBps(final long bytes, final double seconds) {
    if (bytes < 0 || !(seconds > 0)) {
      throw new IllegalArgumentException(
          "bandwidth of " + bytes + " bytes in " + seconds + " s: need bytes >= 0 and time > 0");
    }
    return bytes / seconds / 1e9;
  }

  /**
   * The error of a bandwidth {@code value} computed from a time with error {@code timeError}: to
   * first order the relative errors are equal. NaN stays NaN (no error reported).
   */
  public static double propagatedError(
      final double value, final double time, final double timeError) {
    return value * timeError / time;
  }
}
