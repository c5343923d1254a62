package io.synctower.benchmarks.report;

import io.synctower.benchmarks.AeronAllReduceBenchmark;
import io.synctower.benchmarks.InProcessAllReduceBenchmark;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Bandwidths from the measured times, and the ratio this project cares about: all-reduce bus
 * bandwidth over single-thread memcpy bandwidth at the same size. A ratio near 1 means the
 * collective moves data as fast as one core can copy it; well below 1, the time goes to
 * synchronization, the driver or the additions rather than to moving bytes.
 */
public final class Derived {
  /** The memcpy baseline of every ratio: one thread, heap to heap. */
  static final String MEMCPY = "MemcpyBenchmark.arraycopy";

  static final String BUS_BANDWIDTH = " busbw";
  static final String COPY_BANDWIDTH = " bandwidth";
  static final String RATIO = "ratio busbw/memcpy";

  /** The all-reduce benchmarks of a JMH run and their group sizes. */
  private static final Map<String, Integer> JMH_ALL_REDUCES =
      Map.of(
          "InProcessAllReduceBenchmark.allReduce", InProcessAllReduceBenchmark.MEMBERS,
          "AeronAllReduceBenchmark.allReduce", AeronAllReduceBenchmark.MEMBERS);

  private Derived() {}

  /**
   * The derived rows (source {@link Measurement#DERIVED}) for {@code rows}: the bus bandwidth of
   * every all-reduce row, the bandwidth of every memcpy row, and the ratio of each bus bandwidth to
   * the {@value #MEMCPY} bandwidth of the same size where both were measured.
   */
  public static List<Measurement> of(final List<Measurement> rows) {
    final List<Measurement> busRows = new ArrayList<>();
    final Map<String, Measurement> memcpyBySize = new HashMap<>();
    final List<Measurement> out = new ArrayList<>();
    for (final Measurement m : rows) {
      final String bytes = m.param("bytes");
      if (bytes == null) {
        continue;
      }
      final long size = Long.parseLong(bytes);
      final int members = members(m);
      if (members > 0) {
        final double t = m.seconds();
        final double bw = Bandwidth.busGBps(size, t, members);
        final double err = Bandwidth.propagatedError(bw, m.score(), m.error());
        final Measurement bus = derived(m.benchmark() + BUS_BANDWIDTH, m.params(), bw, err, "GB/s");
        busRows.add(bus);
        out.add(bus);
      } else if (m.benchmark().startsWith("MemcpyBenchmark.")) {
        final double bw = Bandwidth.algorithmGBps(size, m.seconds());
        final Measurement copy =
            derived(
                m.benchmark() + COPY_BANDWIDTH,
                m.params(),
                bw,
                Bandwidth.propagatedError(bw, m.score(), m.error()),
                "GB/s");
        out.add(copy);
        if (m.benchmark().equals(MEMCPY)) {
          memcpyBySize.put(bytes, copy);
        }
      }
    }
    for (final Measurement bus : busRows) {
      final Measurement memcpy = memcpyBySize.get(bus.param("bytes"));
      if (memcpy != null) {
        final double ratio = bus.score() / memcpy.score();
        final double relative =
            Math.hypot(bus.error() / bus.score(), memcpy.error() / memcpy.score());
        out.add(
            derived(
                RATIO,
                "allreduce="
                    + bus.benchmark().replace(BUS_BANDWIDTH, "").replace(' ', '_')
                    + " "
                    + bus.params(),
                ratio,
                ratio * relative,
                "x"));
      }
    }
    return out;
  }

  /** Group size of an all-reduce row, or 0 when the row is not an all-reduce time. */
  private static int members(final Measurement m) {
    final Integer jmh = JMH_ALL_REDUCES.get(m.benchmark());
    if (jmh != null && m.source().equals(Measurement.JMH)) {
      return jmh;
    }
    if (m.benchmark().equals(BenchOutput.ALLREDUCE)) {
      return Integer.parseInt(m.param("members"));
    }
    return 0;
  }

  private static Measurement derived(
      final String benchmark,
      final String params,
      final double score,
      final double error,
      final String unit) {
    return new Measurement(Measurement.DERIVED, benchmark, params, score, error, unit);
  }
}
