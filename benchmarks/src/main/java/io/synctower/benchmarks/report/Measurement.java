package io.synctower.benchmarks.report;

import java.util.Objects;

/**
 * One row of the results: a figure with its error (NaN where the source gives none) and unit.
 *
 * @param source where it came from: {@code jmh}, {@code bench} (the end-to-end commands) or {@code
 *     derived} (computed here from other rows)
 * @param benchmark what was measured, e.g. {@code MemcpyBenchmark.arraycopy}
 * @param params its parameters as {@code key=value} pairs separated by spaces, or ""
 * @param score the figure
 * @param error JMH's 99.9% confidence half-width, or NaN
 * @param unit e.g. {@code us/op}, {@code GB/s}, {@code x} for a ratio
 */
public record Measurement(
    String source, String benchmark, String params, double score, double error, String unit) {
  public static final String JMH = "jmh";
  public static final String BENCH = "bench";
  public static final String DERIVED = "derived";

  public Measurement {
    Objects.requireNonNull(source, "source");
    Objects.requireNonNull(benchmark, "benchmark");
    Objects.requireNonNull(params, "params");
    Objects.requireNonNull(unit, "unit");
  }

  /** The value of parameter {@code key}, or null when this row does not have it. */
  public String param(final String key) {
    for (final String pair : params.split(" ")) {
      final int eq = pair.indexOf('=');
      if (eq > 0 && pair.substring(0, eq).equals(key)) {
        return pair.substring(eq + 1);
      }
    }
    return null;
  }

  /** This row's time per operation in seconds; only for rows whose unit is a time per op. */
  public double seconds() {
    return Units.seconds(score, unit);
  }
}
