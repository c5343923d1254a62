package io.synctower.benchmarks.report;

import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVPrinter;
import org.apache.commons.csv.CSVRecord;

/**
 * The results file: {@code # key: value} comment lines (the machine, the date, the command), then a
 * header and one row per {@link Measurement}. Errors that the source did not give are empty cells.
 * Spreadsheets and pandas read it with comment {@code #}.
 *
 * <pre>
 * # cpu: AMD EPYC
 * # cores: 2 available to the JVM
 * source,benchmark,params,score,error,unit
 * jmh,MemcpyBenchmark.arraycopy,bytes=4096,0.088,0.004,us/op
 * </pre>
 */
public final class ResultsCsv {
  static final String[] COLUMNS = {"source", "benchmark", "params", "score", "error", "unit"};

  private static final CSVFormat FORMAT =
      CSVFormat.DEFAULT.builder().setCommentMarker('#').setRecordSeparator('\n').build();

  private ResultsCsv() {}

  /** Writes {@code header} as comment lines, then the rows. Does not close {@code out}. */
  public static void write(
      final Writer out, final Map<String, String> header, final List<Measurement> rows)
      throws IOException {
    for (final Map.Entry<String, String> e : header.entrySet()) {
      out.write("# " + e.getKey() + ": " + e.getValue().replace('\n', ' ') + "\n");
    }
    final CSVPrinter csv = new CSVPrinter(out, FORMAT);
    csv.printRecord((Object[]) COLUMNS);
    for (final Measurement m : rows) {
      csv.printRecord(
          m.source(), m.benchmark(), m.params(), number(m.score()), number(m.error()), m.unit());
    }
    csv.flush();
  }

  /** Reads the rows back (comment lines skipped); the inverse of {@link #write}. */
  public static List<Measurement> read(final Reader in) throws IOException {
    final List<Measurement> out = new ArrayList<>();
    final CSVFormat format = FORMAT.builder().setHeader().setSkipHeaderRecord(true).build();
    for (final CSVRecord r : format.parse(in)) {
      out.add(
          new Measurement(
              r.get("source"),
              r.get("benchmark"),
              r.get("params"),
              parse(r.get("score")),
              parse(r.get("error")),
              r.get("unit")));
    }
    return out;
  }

  /** Six significant digits are more than any benchmark here resolves. */
  private static String number(final double v) {
    return Double.isNaN(v)
        ? ""
        : String.valueOf(Double.parseDouble(String.format(Locale.ROOT, "%.6g", v)));
  }

  private static double parse(final String cell) {
    return cell.isEmpty() ? Double.NaN : Double.parseDouble(cell);
  }
}
