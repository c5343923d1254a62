package io.synctower.coordinator.doctor;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Moving statistics that inference cannot trust (seed 003: multi-GPU towers whose update ops never
 * ran, so inference normalized with mean 0 and variance 1). For every trainable BN layer:
 *
 * <ul>
 *   <li>still exactly at the initial values (every channel mean 0, variance 1): never updated,
 *       PROBLEM;
 *   <li>otherwise, compared with the population statistics of the layer's inputs on the sample
 *       under the same weights (what precise BN computes): the mean's deviation in units of {@code
 *       sqrt(var_pop + eps)}, the scale the layer divides by, and the variance ratio {@code
 *       (var_moving + eps) / (var_pop + eps)} taken >= 1 either way. WARN above {@value #WARN_MEAN}
 *       std or a ratio of {@value #WARN_RATIO}; PROBLEM above {@value #PROBLEM_MEAN} std or {@value
 *       #PROBLEM_RATIO}.
 * </ul>
 *
 * <p>Why these thresholds: a mean off by 0.25 std shifts every normalized value by a quarter of its
 * spread, a variance ratio of 1.5 mis-scales it by 22%: visible in the loss, rarely in the
 * accuracy. At 1 std or a factor 4 (2x in scale) the layers after it see inputs unlike any they
 * were trained on. The decay's noise alone stays far below either: a healthy run's moving
 * statistics are within a few hundredths of a std of the population.
 */
final class StaleStatisticsCheck implements Check {
  static final double WARN_MEAN = 0.25;
  static final double WARN_RATIO = 1.5;
  static final double PROBLEM_MEAN = 1.0;
  static final double PROBLEM_RATIO = 4.0;
  private static final String NAME = "moving statistics";

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public Finding examine(final Evidence evidence) {
    final List<LayerStatistics> layers =
        evidence.measurements().layers().stream().filter(LayerStatistics::trainable).toList();
    if (layers.isEmpty()) {
      return Finding.ok(NAME, "no trainable BN layer", Table.none());
    }
    final List<String> never = new ArrayList<>();
    final List<List<String>> rows = new ArrayList<>();
    Severity worst = Severity.OK;
    LayerStatistics worstMean = null;
    LayerStatistics worstRatio = null;
    for (final LayerStatistics l : layers) {
      final Severity s;
      if (l.initial()) {
        never.add(l.name());
        s = Severity.PROBLEM;
      } else {
        s = severity(l);
      }
      worst = s.compareTo(worst) > 0 ? s : worst;
      if (worstMean == null || l.meanDeviation() > worstMean.meanDeviation()) {
        worstMean = l;
      }
      if (worstRatio == null || l.varianceRatio() > worstRatio.varianceRatio()) {
        worstRatio = l;
      }
      rows.add(
          List.of(
              l.name(),
              Integer.toString(l.movingMean().length),
              l.initial() ? "initial (mean 0, var 1)" : "updated",
              format(l.meanDeviation()) + " std (channel " + l.worstMeanChannel() + ")",
              "x" + format(l.varianceRatio()) + " (channel " + l.worstVarianceChannel() + ")",
              s.name()));
    }
    final Table table =
        new Table(
            List.of("layer", "channels", "moving statistics", "mean off by", "variance off by", ""),
            rows);
    final String largest =
        String.format(
            Locale.ROOT,
            "largest gap to the population of %d samples: mean %s std (%s), variance x%s (%s)",
            evidence.sampleSize(),
            format(worstMean.meanDeviation()),
            worstMean.name(),
            format(worstRatio.varianceRatio()),
            worstRatio.name());
    if (!never.isEmpty()) {
      return new Finding(
          NAME,
          Severity.PROBLEM,
          String.join(", ", never) + " never updated: still mean 0, variance 1; " + largest,
          "Inference normalizes with the moving statistics. At mean 0 and variance 1 a layer"
              + " passes its input through unnormalized, on a scale the layers after it never saw"
              + " in training (seed 003: update ops that never ran on the towers).",
          PRECISE_FIX,
          table);
    }
    if (worst == Severity.OK) {
      return Finding.ok(NAME, layers.size() + " trainable BN layer(s) updated; " + largest, table);
    }
    return new Finding(
        NAME,
        worst,
        layers.size() + " trainable BN layer(s) updated; " + largest,
        "Inference normalizes with the moving statistics; where they are far from the statistics"
            + " of the layer's inputs under the final weights, inference shifts and rescales"
            + " activations that training did not. A moving average lags behind weights that keep"
            + " changing: a high bn.decay, few steps, or large late updates.",
        PRECISE_FIX,
        table);
  }

  private static Severity severity(final LayerStatistics l) {
    if (l.meanDeviation() > PROBLEM_MEAN || l.varianceRatio() > PROBLEM_RATIO) {
      return Severity.PROBLEM;
    }
    if (l.meanDeviation() > WARN_MEAN || l.varianceRatio() > WARN_RATIO) {
      return Severity.WARN;
    }
    return Severity.OK;
  }

  /** The fix wherever the moving statistics, not the weights, are what is wrong. */
  static final String PRECISE_FIX =
      "recompute the moving statistics from the final weights: bin/synctower precise-bn"
          + " --checkpoint RUN_DIR --batches 50, or set bn.preciseBatches: 50 so that every epoch"
          + " ends with it";

  static String format(final double v) {
    if (Double.isInfinite(v) || Double.isNaN(v)) {
      return String.valueOf(v);
    }
    return v >= 100 ? String.format(Locale.ROOT, "%.3g", v) : String.format(Locale.ROOT, "%.2f", v);
  }
}
