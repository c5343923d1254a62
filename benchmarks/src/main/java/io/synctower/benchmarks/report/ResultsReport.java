package io.synctower.benchmarks.report;

import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The last stage of {@code bin/benchmarks}: reads JMH's CSV and the end-to-end commands' output,
 * adds the derived bandwidths and ratios, writes the results CSV with the machine description, and
 * prints the rows as a table.
 */
@Command(
    name = "benchmarks-report",
    mixinStandardHelpOptions = true,
    description = "Combine one benchmark run's outputs into a results CSV (see bin/benchmarks).")
public final class ResultsReport implements Callable<Integer> {
  @Option(names = "--jmh", paramLabel = "FILE", description = "JMH's -rf csv output.")
  Path jmh;

  @Option(names = "--step", paramLabel = "FILE", description = "Output of `synctower bench step`.")
  Path step;

  @Option(
      names = "--allreduce",
      paramLabel = "FILE",
      description = "Output of `synctower bench allreduce` (repeatable: one per transport).")
  List<Path> allReduce = new ArrayList<>();

  @Option(
      names = "--out",
      required = true,
      paramLabel = "FILE",
      description = "Results CSV to write (its folder is created).")
  Path out;

  @Option(
      names = "--run",
      paramLabel = "TEXT",
      description = "How the run was made, for the header (e.g. the bin/benchmarks command line).")
  String run = "";

  public static void main(final String[] args) {
    System.exit(new CommandLine(new ResultsReport()).execute(args));
  }

  @Override
  public Integer call() throws IOException {
    final List<Measurement> rows = new ArrayList<>();
    if (jmh != null) {
      try (Reader in = Files.newBufferedReader(jmh, StandardCharsets.UTF_8)) {
        rows.addAll(JmhCsv.read(in, jmh.toString()));
      }
    }
    if (step != null) {
      rows.addAll(BenchOutput.step(Files.readString(step), step.toString()));
    }
    for (final Path p : allReduce) {
      rows.addAll(BenchOutput.allReduce(Files.readString(p), p.toString()));
    }
    if (rows.isEmpty()) {
      throw new CommandLine.ParameterException(
          new CommandLine(this),
          "nothing to report: give --jmh, --step or --allreduce with the files of a run");
    }
    rows.addAll(Derived.of(rows));

    final Map<String, String> header = new LinkedHashMap<>();
    header.put("synctower benchmarks", "results (README \"Performance\" explains each row)");
    header.put("date", ZonedDateTime.now().format(DateTimeFormatter.ISO_OFFSET_DATE_TIME));
    if (!run.isEmpty()) {
      header.put("run", run);
    }
    header.putAll(MachineDescription.probe(BackendDescription.describe()).entries());

    final Path parent = out.toAbsolutePath().getParent();
    Files.createDirectories(parent);
    try (Writer w = Files.newBufferedWriter(out, StandardCharsets.UTF_8)) {
      ResultsCsv.write(w, header, rows);
    }
    header.forEach((k, v) -> System.out.println(k + ": " + v));
    System.out.print(table(rows));
    System.out.println("results: " + out);
    return 0;
  }

  /** The rows as aligned text: benchmark, params, score +- error, unit. */
  static String table(final List<Measurement> rows) {
    int wb = "benchmark".length();
    int wp = "params".length();
    for (final Measurement m : rows) {
      wb = Math.max(wb, m.benchmark().length());
      wp = Math.max(wp, m.params().length());
    }
    final String format = "%-" + wb + "s  %-" + wp + "s  %12s %10s  %s%n";
    final StringBuilder sb = new StringBuilder();
    sb.append(String.format(Locale.ROOT, format, "benchmark", "params", "score", "+-", "unit"));
    for (final Measurement m : rows) {
      sb.append(
          String.format(
              Locale.ROOT,
              format,
              m.benchmark(),
              m.params(),
              significant(m.score()),
              Double.isNaN(m.error()) ? "" : significant(m.error()),
              m.unit()));
    }
    return sb.toString();
  }

  private static String significant(final double v) {
    return String.format(Locale.ROOT, Math.abs(v) >= 100 ? "%.1f" : "%.4g", v);
  }
}
