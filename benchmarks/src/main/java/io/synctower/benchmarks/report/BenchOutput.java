package io.synctower.benchmarks.report;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads what the end-to-end commands print ({@code coordinator/cli/BenchCommand}, {@code
 * BenchAllReduce}) into rows with source {@link Measurement#BENCH}. Lines it does not know
 * (progress, logs, the memory table) are skipped; a run whose summary line is missing is an error,
 * so a failed command never yields an empty section silently.
 */
public final class BenchOutput {
  // "bench step: quickstart, batch 64, dtype FLOAT, native linux-x86_64-onednn-avx512, 2 cores"
  // (the native build is the one that loaded: the platform directory of the mapped library)
  private static final Pattern STEP_HEADER =
      Pattern.compile(
          "bench step: (\\S+), batch (\\d+), dtype (\\S+), native (\\S+), (\\d+) cores");

  // "samples/s 990.1 | ms/step median 64.6 (p10 63.0, p90 70.2) = forward 20.1 + backward 40.3 +
  // optimizer 3.9"
  private static final Pattern STEP_SUMMARY =
      Pattern.compile(
          "samples/s ([\\d.]+) \\| ms/step median ([\\d.]+) \\(p10 ([\\d.]+), p90 ([\\d.]+)\\)"
              + " = forward ([\\d.]+) \\+ backward ([\\d.]+) \\+ optimizer ([\\d.]+)");

  // "bench allreduce: 2 processes over Aeron IPC, float32; memcpy (1 thread) 12.34 GB/s"
  private static final Pattern ALLREDUCE_HEADER =
      Pattern.compile(
          "bench allreduce: (\\d+) processes over Aeron (\\S+), float32; memcpy \\(1 thread\\)"
              + " ([\\d.]+) GB/s");

  // "        4096            1.9            2.156            2.156"
  private static final Pattern ALLREDUCE_ROW =
      Pattern.compile("\\s*(\\d+)\\s+([\\d.]+)\\s+([\\d.]+)\\s+([\\d.]+)\\s*");

  static final String STEP = "synctower bench step";
  static final String ALLREDUCE = "synctower bench allreduce";
  static final String ALLREDUCE_MEMCPY = "synctower bench allreduce memcpy";

  private BenchOutput() {}

  /**
   * {@code bench step}: the median step time (ms/op, error NaN), its forward, backward and
   * optimizer medians, and samples/s.
   *
   * @param name the output's name, for errors
   */
  public static List<Measurement> step(final String output, final String name) {
    String params = "";
    for (final String line : output.split("\\R")) {
      final Matcher h = STEP_HEADER.matcher(line);
      if (h.find()) {
        params = "config=" + h.group(1) + " batch=" + h.group(2) + " towers=1";
      }
      final Matcher s = STEP_SUMMARY.matcher(line);
      if (s.find()) {
        final List<Measurement> out = new ArrayList<>();
        out.add(row(STEP, params, s.group(2), "ms/op"));
        out.add(row(STEP + " forward", params, s.group(5), "ms/op"));
        out.add(row(STEP + " backward", params, s.group(6), "ms/op"));
        out.add(row(STEP + " optimizer", params, s.group(7), "ms/op"));
        out.add(row(STEP + " throughput", params, s.group(1), "samples/s"));
        return out;
      }
    }
    throw new IllegalArgumentException(
        name
            + ": no 'samples/s ... | ms/step median ...' line; did `synctower bench step` fail?"
            + " Its output is in that file");
  }

  /**
   * {@code bench allreduce}: the median time of each size (us/op, error NaN) and the single-thread
   * memcpy bandwidth it printed (GB/s).
   */
  public static List<Measurement> allReduce(final String output, final String name) {
    final List<Measurement> out = new ArrayList<>();
    String params = null;
    for (final String line : output.split("\\R")) {
      final Matcher h = ALLREDUCE_HEADER.matcher(line);
      if (h.find()) {
        params = "transport=" + h.group(2).toLowerCase(Locale.ROOT) + " members=" + h.group(1);
        out.add(row(ALLREDUCE_MEMCPY, "", h.group(3), "GB/s"));
        continue;
      }
      final Matcher r = ALLREDUCE_ROW.matcher(line);
      if (params != null && r.matches()) {
        out.add(row(ALLREDUCE, params + " bytes=" + r.group(1), r.group(2), "us/op"));
      }
    }
    if (params == null || out.size() < 2) {
      throw new IllegalArgumentException(
          name
              + ": no 'bench allreduce: ...' header with size rows; did `synctower bench"
              + " allreduce` fail? Its output is in that file");
    }
    return out;
  }

  private static Measurement row(
      final String benchmark, final String params, final String value, final String unit) {
    return new Measurement(
        Measurement.BENCH, benchmark, params, Double.parseDouble(value), Double.NaN, unit);
  }
}
