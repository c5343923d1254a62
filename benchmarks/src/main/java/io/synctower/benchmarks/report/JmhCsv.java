package io.synctower.benchmarks.report;

import java.io.IOException;
import java.io.Reader;
import java.util.ArrayList;
import java.util.List;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVRecord;

/**
 * Reads the file JMH writes with {@code -rf csv}: one row per benchmark and parameter combination,
 * columns {@code Benchmark, Mode, Threads, Samples, Score, Score Error (99.9%), Unit} and one
 * {@code Param: NAME} column per parameter of any benchmark in the run (empty where a benchmark
 * does not have it).
 */
public final class JmhCsv {
  /**
   * The package prefix dropped from benchmark names: {@code MemcpyBenchmark.arraycopy} reads
   * better.
   */
  static final String PACKAGE = "io.synctower.benchmarks.";

  private static final String PARAM = "Param: ";

  private JmhCsv() {}

  /**
   * The rows of a JMH CSV file, in file order, with source {@link Measurement#JMH}.
   *
   * @param name the file's name, for errors
   * @throws IllegalArgumentException naming the file and what is missing when it is not JMH's CSV
   */
  public static List<Measurement> read(final Reader in, final String name) throws IOException {
    final List<Measurement> out = new ArrayList<>();
    final CSVFormat format =
        CSVFormat.DEFAULT.builder().setHeader().setSkipHeaderRecord(true).build();
    for (final CSVRecord row : format.parse(in)) {
      for (final String column : List.of("Benchmark", "Score", "Score Error (99.9%)", "Unit")) {
        if (!row.isMapped(column)) {
          throw new IllegalArgumentException(
              name + ": no '" + column + "' column; expected the CSV of JMH's -rf csv");
        }
      }
      final StringBuilder params = new StringBuilder();
      for (final String column : row.getParser().getHeaderNames()) {
        if (column.startsWith(PARAM) && !row.get(column).isEmpty()) {
          params.append(params.length() == 0 ? "" : " ");
          params.append(column.substring(PARAM.length())).append('=').append(row.get(column));
        }
      }
      String benchmark = row.get("Benchmark");
      if (benchmark.startsWith(PACKAGE)) {
        benchmark = benchmark.substring(PACKAGE.length());
      }
      out.add(
          new Measurement(
              Measurement.JMH,
              benchmark,
              params.toString(),
              number(row.get("Score"), name, row),
              number(row.get("Score Error (99.9%)"), name, row),
              row.get("Unit")));
    }
    return out;
  }

  /** JMH writes NaN for an error it could not compute (a single sample). */
  private static double number(final String text, final String name, final CSVRecord row) {
    try {
      return Double.parseDouble(text);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          name + " line " + row.getRecordNumber() + ": '" + text + "' is not a number", e);
    }
  }
}
