package io.synctower.coordinator.experiments;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.ToDoubleFunction;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.internal.chartpart.Chart;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.lines.SeriesLines;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * The sweep's charts as PNG files (XChart, drawn headless): throughput and efficiency against the
 * tower count (a series per BN mode), the step split as stacked bars per run, and the loss curves
 * of each BN mode (a curve per tower count: with SyncBN they lie on top of each other, with local
 * BN they drift apart as the shards shrink).
 */
public final class ScalingCharts {
  /** A chart written: its file name in the sweep directory and what it shows. */
  public record ChartFile(String fileName, String title) {}

  private static final int WIDTH = 900;
  private static final int HEIGHT = 480;

  private ScalingCharts() {}

  /** Writes every chart the runs allow into {@code directory}; returns them in report order. */
  public static List<ChartFile> writeAll(
      final Path directory, final List<ScalingRow> rows, final List<RunMeasurement> runs) {
    // AWT must not look for a display: a sweep runs on servers and in CI.
    if (System.getProperty("java.awt.headless") == null) {
      System.setProperty("java.awt.headless", "true");
    }
    final List<ChartFile> files = new ArrayList<>();
    final List<BnMode> modes = rows.stream().map(ScalingRow::bn).distinct().toList();
    files.add(
        save(
            directory,
            "throughput.png",
            perTowerChart(
                "Throughput", "samples/s", rows, modes, ScalingRow::samplesPerSecond, true)));
    files.add(
        save(
            directory,
            "efficiency.png",
            perTowerChart(
                "Scaling efficiency",
                "efficiency (1 = ideal)",
                rows,
                modes,
                ScalingRow::efficiency,
                false)));
    files.add(save(directory, "step-split.png", splitChart(rows)));
    for (final BnMode bn : modes) {
      files.add(save(directory, "loss-" + bn.label() + ".png", lossChart(bn, runs)));
    }
    return files;
  }

  private static ChartFile save(final Path directory, final String name, final Chart<?, ?> chart) {
    try {
      BitmapEncoder.saveBitmap(
          chart, directory.resolve(name).toString(), BitmapEncoder.BitmapFormat.PNG);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + directory.resolve(name), e);
    }
    return new ChartFile(name, chart.getTitle());
  }

  /** A value per tower count, a series per BN mode; optionally the ideal linear line. */
  private static XYChart perTowerChart(
      final String title,
      final String yTitle,
      final List<ScalingRow> rows,
      final List<BnMode> modes,
      final ToDoubleFunction<ScalingRow> value,
      final boolean idealLine) {
    final XYChart chart =
        new XYChartBuilder()
            .width(WIDTH)
            .height(HEIGHT)
            .title(title + " vs towers (" + rows.get(0).mode().label() + " scaling)")
            .xAxisTitle("towers")
            .yAxisTitle(yTitle)
            .build();
    chart.getStyler().setLegendPosition(Styler.LegendPosition.OutsideE);
    chart.getStyler().setXAxisDecimalPattern("0");
    chart.getStyler().setYAxisMin(0.0);
    for (final BnMode bn : modes) {
      final List<ScalingRow> mine = sortedByTowers(rows, bn);
      final double[] x = mine.stream().mapToDouble(ScalingRow::towers).toArray();
      final double[] y = mine.stream().mapToDouble(value).map(v -> finite(v)).toArray();
      chart.addSeries(bn.title(), x, y).setMarker(SeriesMarkers.CIRCLE);
      if (idealLine && !mine.isEmpty()) {
        final ScalingRow base = mine.get(0);
        final double[] ideal = new double[x.length];
        for (int i = 0; i < x.length; i++) {
          ideal[i] = base.samplesPerSecond() * x[i] / base.towers();
        }
        final XYSeries s = chart.addSeries(bn.title() + ", ideal", x, ideal);
        s.setLineStyle(SeriesLines.DASH_DASH);
        s.setMarker(SeriesMarkers.NONE);
      }
    }
    if (!idealLine) {
      final double[] x =
          rows.stream().mapToDouble(ScalingRow::towers).distinct().sorted().toArray();
      final double[] one = new double[x.length];
      java.util.Arrays.fill(one, 1.0);
      final XYSeries s = chart.addSeries("ideal", x, one);
      s.setLineStyle(SeriesLines.DASH_DASH);
      s.setMarker(SeriesMarkers.NONE);
    }
    return chart;
  }

  /** Mean step split per run as stacked bars: the bars' heights are the mean step times. */
  private static CategoryChart splitChart(final List<ScalingRow> rows) {
    final CategoryChart chart =
        new CategoryChartBuilder()
            .width(WIDTH)
            .height(HEIGHT)
            .title("Where a step's time goes (mean per step)")
            .xAxisTitle("towers, BN mode")
            .yAxisTitle("ms per step")
            .build();
    chart.getStyler().setStacked(true);
    chart.getStyler().setLegendPosition(Styler.LegendPosition.OutsideE);
    final List<String> labels = rows.stream().map(r -> r.towers() + " " + r.bn().label()).toList();
    addBars(chart, "compute", labels, rows, ScalingRow::computeMs);
    addBars(chart, "BN-statistic all-reduce", labels, rows, ScalingRow::bnReduceMs);
    addBars(chart, "gradient all-reduce", labels, rows, ScalingRow::allReduceMs);
    addBars(chart, "optimizer", labels, rows, ScalingRow::optimizerMs);
    addBars(chart, "data wait", labels, rows, ScalingRow::dataWaitMs);
    addBars(chart, "idle", labels, rows, ScalingRow::idleMs);
    return chart;
  }

  private static void addBars(
      final CategoryChart chart,
      final String name,
      final List<String> labels,
      final List<ScalingRow> rows,
      final ToDoubleFunction<ScalingRow> value) {
    final List<Double> values = rows.stream().map(r -> finite(value.applyAsDouble(r))).toList();
    chart.addSeries(name, labels, values);
  }

  /** One curve per tower count of {@code bn}: the loss of every step. */
  private static XYChart lossChart(final BnMode bn, final List<RunMeasurement> runs) {
    final XYChart chart =
        new XYChartBuilder()
            .width(WIDTH)
            .height(HEIGHT)
            .title("Training loss per step, " + bn.title())
            .xAxisTitle("step")
            .yAxisTitle("loss (mean over the global batch)")
            .build();
    chart.getStyler().setLegendPosition(Styler.LegendPosition.OutsideE);
    chart.getStyler().setXAxisDecimalPattern("0");
    final java.awt.BasicStroke[] styles = {
      SeriesLines.SOLID, SeriesLines.DASH_DASH, SeriesLines.DOT_DOT, SeriesLines.DASH_DOT
    };
    int i = 0;
    for (final RunMeasurement m : runs) {
      if (m.run().bn() != bn || m.losses().length == 0) {
        continue;
      }
      final double[] y = m.losses();
      final double[] x = new double[y.length];
      for (int s = 0; s < x.length; s++) {
        x[s] = s;
        y[s] = finite(y[s]);
      }
      final XYSeries series =
          chart.addSeries(m.run().towers() + " tower" + (m.run().towers() == 1 ? "" : "s"), x, y);
      // Different dashes, so curves that coincide still show they are all there.
      series.setLineStyle(styles[i++ % styles.length]);
      series.setMarker(SeriesMarkers.NONE);
    }
    return chart;
  }

  private static List<ScalingRow> sortedByTowers(final List<ScalingRow> rows, final BnMode bn) {
    return rows.stream()
        .filter(r -> r.bn() == bn)
        .sorted(java.util.Comparator.comparingInt(ScalingRow::towers))
        .toList();
  }

  /** XChart cannot draw NaN: a value that does not exist is drawn as 0. */
  private static double finite(final double v) {
    return Double.isFinite(v) ? v : 0;
  }
}
