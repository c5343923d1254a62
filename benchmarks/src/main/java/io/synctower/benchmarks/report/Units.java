package io.synctower.benchmarks.report;

/** Times per operation as JMH and the bench commands print them. */
final class Units {
  private Units() {}

  /**
   * {@code value} in seconds.
   *
   * @param unit {@code s/op}, {@code ms/op}, {@code us/op} or {@code ns/op}
   * @throws IllegalArgumentException for any other unit (e.g. a throughput, {@code ops/s})
   */
  static double seconds(final double value, final String unit) {
    return switch (unit) {
      case "s/op" -> value;
      case "ms/op" -> value * 1e-3;
      case "us/op" -> value * 1e-6;
      case "ns/op" -> value * 1e-9;
      default ->
          throw new IllegalArgumentException(
              "unit '" + unit + "' is not a time per operation (s/op, ms/op, us/op, ns/op)");
    };
  }
}
