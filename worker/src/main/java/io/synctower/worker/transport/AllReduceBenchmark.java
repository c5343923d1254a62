package io.synctower.worker.transport;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import org.agrona.concurrent.UnsafeBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * All-reduce bandwidth and latency of a group, the way nccl-tests report them: for each size, the
 * median time of back-to-back {@code allReduceSum} calls on one float buffer, the algorithm
 * bandwidth {@code bytes / time} and the bus bandwidth {@code algbw * 2(N-1)/N} (what each member's
 * link carries in a bandwidth-optimal all-reduce, comparable across group sizes).
 *
 * <p>Every member of the group calls {@link #run} with the same arguments at the same time, from
 * the member's own thread (it issues collectives); each gets its own timings.
 *
 * <pre>{@code
 * List<AllReduceBenchmark.Result> table = AllReduceBenchmark.run(world, 4 << 10, 64 << 20, 4);
 * table.forEach(r -> System.out.println(r));
 * }</pre>
 */
public final class AllReduceBenchmark {
  private AllReduceBenchmark() {}

  /**
   * One size.
   *
   * @param bytes bytes all-reduced per call (float32 elements x 4)
   * @param medianNanos median wall time of one call on this member
   * @param algbwGBps bytes / median time, in 10^9 bytes per second
   * @param busbwGBps algbw x 2(N-1)/N
   */
  public record Result(long bytes, long medianNanos, double algbwGBps, double busbwGBps) {
    @Override
    public String toString() {
      return String.format(
          "%10d B  %12.1f us  algbw %7.3f GB/s  busbw %7.3f GB/s",
          bytes, medianNanos / 1e3, algbwGBps, busbwGBps);
    }
  }

  /** {@link #run(AeronCollective, long, long, int)} from 4 KiB to 64 MiB in powers of 4. */
  public static List<Result> run(final AeronCollective collective) {
    return run(collective, 4 << 10, 64 << 20, 4);
  }

  /**
   * Measures sizes {@code minBytes, minBytes * factor, ...} up to {@code maxBytes}. Iterations per
   * size follow from the size alone (at least 10, about 256 MiB moved, at most 2000; warm-up a
   * fifth of that), so every member runs the same number of collectives. Allocates one float buffer
   * per size, outside the timed calls.
   */
  public static List<Result> run(
      final AeronCollective collective,
      final long minBytes,
      final long maxBytes,
      final int factor) {
    Objects.requireNonNull(collective, "collective");
    if (minBytes < 4 || maxBytes < minBytes || factor < 2) {
      throw new IllegalArgumentException(
          "sizes " + minBytes + ".." + maxBytes + " x" + factor + ": need 4 <= min <= max, x >= 2");
    }
    final int n = collective.size();
    final List<Result> out = new ArrayList<>();
    for (long bytes = minBytes; bytes <= maxBytes; bytes *= factor) {
      final int iterations = iterations(bytes);
      final INDArray buffer = Nd4j.zeros(DataType.FLOAT, bytes / 4);
      for (int i = 0; i < warmup(bytes); i++) {
        collective.allReduceSum(buffer);
      }
      collective.barrier();
      final long[] nanos = new long[iterations];
      for (int i = 0; i < iterations; i++) {
        final long start = System.nanoTime();
        collective.allReduceSum(buffer);
        nanos[i] = System.nanoTime() - start;
      }
      Arrays.sort(nanos);
      final long median = nanos[iterations / 2];
      final long actualBytes = (bytes / 4) * 4;
      final double algbw = actualBytes / (double) median;
      out.add(new Result(actualBytes, median, algbw, algbw * 2.0 * (n - 1) / n));
    }
    return out;
  }

  static int iterations(final long bytes) {
    return (int) Math.max(10, Math.min(2000, (256L << 20) / bytes));
  }

  /**
   * Calls before timing: about 512 MiB moved, 5 to 20,000. Small sizes need the many: the receive
   * path is compiled by C2 only after some 10,000 calls, and timed before that a 16 KiB round
   * measured 14 µs instead of 2.5.
   */
  static int warmup(final long bytes) {
    return (int) Math.max(5, Math.min(20_000, (512L << 20) / bytes));
  }

  /**
   * Single-thread copy bandwidth of this machine, in 10^9 bytes per second: the median of 10 copies
   * of 64 MiB between two direct buffers (after 3 warm-up copies). A member's all-reduce moves each
   * byte through memory several times (into the log, out of it, and the add), so this is the
   * ceiling to compare the bus bandwidth with.
   */
  public static double memcpyBandwidth() {
    final int bytes = 64 << 20;
    final UnsafeBuffer from = new UnsafeBuffer(ByteBuffer.allocateDirect(bytes));
    final UnsafeBuffer to = new UnsafeBuffer(ByteBuffer.allocateDirect(bytes));
    from.setMemory(0, bytes, (byte) 1);
    to.setMemory(0, bytes, (byte) 0);
    final long[] nanos = new long[10];
    for (int i = -3; i < nanos.length; i++) {
      final long start = System.nanoTime();
      to.putBytes(0, from, 0, bytes);
      if (i >= 0) {
        nanos[i] = System.nanoTime() - start;
      }
    }
    Arrays.sort(nanos);
    return bytes / (double) nanos[nanos.length / 2];
  }
}
