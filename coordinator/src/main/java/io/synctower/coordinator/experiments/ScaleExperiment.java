package io.synctower.coordinator.experiments;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A whole sweep: runs every run of the plan, then writes {@code scaling.csv}, the charts and {@code
 * report.md} into the sweep's directory.
 *
 * <pre>{@code
 * ScaleExperiment.Outcome o = new ScaleExperiment(setup, runner, progress).run(runs, directory);
 * System.out.println("report: " + o.report());
 * }</pre>
 */
public final class ScaleExperiment {
  /** What a sweep wrote. */
  public record Outcome(
      Path directory,
      Path csv,
      Path report,
      List<ScalingRow> rows,
      List<ScalingCharts.ChartFile> charts,
      Map<BnMode, ScalingFit.Result> fits) {}

  private final SweepSetup setup;
  private final ScaleRunner runner;
  private final PrintStream progress;

  public ScaleExperiment(
      final SweepSetup setup, final ScaleRunner runner, final PrintStream progress) {
    this.setup = Objects.requireNonNull(setup, "setup");
    this.runner = Objects.requireNonNull(runner, "runner");
    this.progress = Objects.requireNonNull(progress, "progress");
  }

  /** Runs {@code runs} and writes the sweep's files into {@code directory}. */
  public Outcome run(final List<ScalePlan.Run> runs, final Path directory)
      throws InterruptedException {
    try {
      Files.createDirectories(directory);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create " + directory, e);
    }
    final List<RunMeasurement> measured = runner.runAll(runs, directory);
    final List<ScalingRow> rows = ScalingTable.of(setup.plan().mode(), measured);
    final Path csv = directory.resolve("scaling.csv");
    ScalingCsv.write(csv, rows);
    final Map<BnMode, ScalingFit.Result> fits = fits(rows);
    progress.println("writing charts and the report");
    final List<ScalingCharts.ChartFile> charts = ScalingCharts.writeAll(directory, rows, measured);
    final Path report = ScalingReport.write(directory, setup, rows, measured, fits, charts);
    return new Outcome(directory, csv, report, rows, charts, fits);
  }

  /** The step-time fit of each BN mode over its tower counts (median step times). */
  private Map<BnMode, ScalingFit.Result> fits(final List<ScalingRow> rows) {
    final Map<BnMode, ScalingFit.Result> fits = new LinkedHashMap<>();
    for (final BnMode bn : setup.plan().bnModes()) {
      final List<ScalingRow> mine = rows.stream().filter(r -> r.bn() == bn).toList();
      fits.put(
          bn,
          ScalingFit.fit(
              setup.plan().mode(),
              mine.stream().mapToInt(ScalingRow::towers).toArray(),
              mine.stream().mapToDouble(ScalingRow::medianStepMs).toArray()));
    }
    return fits;
  }
}
