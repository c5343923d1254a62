package io.synctower.coordinator.experiments;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Writes {@code report.md}: what ran, the findings computed from the measurements (throughput and
 * efficiency at the largest tower count, how far apart the loss curves of each BN mode lie, the
 * fitted per-tower cost and where scaling stops paying, communication against compute contention
 * when towers outnumber cores), the results table, the charts (relative links) and the fits with
 * their extrapolation.
 */
public final class ScalingReport {
  /** Tower counts the fits extrapolate to. */
  static final int[] EXTRAPOLATE = {16, 32, 64};

  private ScalingReport() {}

  /**
   * The report's text.
   *
   * @param fits the step-time fit of each BN mode
   */
  public static String format(
      final SweepSetup setup,
      final List<ScalingRow> rows,
      final List<RunMeasurement> runs,
      final Map<BnMode, ScalingFit.Result> fits,
      final List<ScalingCharts.ChartFile> charts) {
    final StringBuilder md = new StringBuilder();
    final ScalingMode mode = setup.plan().mode();
    md.append("# Scaling report: ")
        .append(setup.configName())
        .append(", ")
        .append(mode.label())
        .append(" scaling\n\n");
    md.append(
        line(
            "Tower counts %s, BN %s; every run %d steps from the same seed (the first %d left out"
                + " of the timings); %s; towers as %s; %s; %d core%s available.",
            setup.towers(),
            setup.plan().bnModes().stream().map(BnMode::title).toList(),
            setup.plan().steps(),
            setup.plan().warmup(),
            mode == ScalingMode.STRONG
                ? "global batch " + setup.configBatch() + " at every tower count"
                : "per-tower batch "
                    + setup.configBatch()
                    + " (global batch "
                    + setup.configBatch()
                    + " x towers)",
            setup.transport(),
            setup.dtype(),
            setup.cores(),
            setup.cores() == 1 ? "" : "s"));
    md.append("\n\n## Findings\n\n");
    for (final String finding : findings(setup, rows, runs, fits)) {
      md.append("- ").append(finding).append('\n');
    }
    md.append("\n## Results\n\n");
    table(md, rows);
    md.append("\n## Charts\n\n");
    for (final ScalingCharts.ChartFile c : charts) {
      md.append("![").append(c.title()).append("](").append(c.fileName()).append(")\n\n");
    }
    md.append("## Step time against tower count\n\n");
    fits(md, setup, fits);
    md.append("\n## How to read this\n\n");
    md.append(
        line(
            "- Efficiency (%s scaling): throughput at N towers / (N x throughput at the smallest"
                + " tower count); %s.%n",
            mode.label(), mode.efficiencyMeaning()));
    md.append(
        "- Throughput is the global batch over the median step time. The step split is the mean"
            + " per step of the tower each step waited for (the one whose phases took longest):"
            + " compute (forward + backward), BN-statistic all-reduce (SyncBN's reductions inside"
            + " forward and backward), gradient all-reduce, optimizer (moving statistics and the"
            + " update), data wait (its shard not prefetched yet), and idle (the coordinator's"
            + " wall time no tower accounts for: messages, wake-ups). They add up to the mean"
            + " step time.\n");
    md.append(
        "- Both all-reduce phases include waiting for the slowest tower to arrive, so load"
            + " imbalance and towers sharing cores show up there as well as in compute per"
            + " sample.\n");
    md.append(
        "- Each run's own files (config.yaml, metrics.csv, steps.csv with every step's loss,"
            + " train.log) are in its subdirectory, e.g. `towers-1-sync/`.\n");
    return md.toString();
  }

  /** Writes {@code report.md} into {@code directory} and returns its path. */
  public static Path write(
      final Path directory,
      final SweepSetup setup,
      final List<ScalingRow> rows,
      final List<RunMeasurement> runs,
      final Map<BnMode, ScalingFit.Result> fits,
      final List<ScalingCharts.ChartFile> charts) {
    final Path file = directory.resolve("report.md");
    try {
      Files.writeString(file, format(setup, rows, runs, fits, charts));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file, e);
    }
    return file;
  }

  /**
   * The loss difference below which curves count as the same: float64 rounding grows to about 1e-12
   * over a few steps; float32's, through Adam's normalization, to about 1e-4.
   */
  static double curveTolerance(final String dtype) {
    return "float64".equals(dtype) ? 1e-8 : 1e-3;
  }

  static List<String> findings(
      final SweepSetup setup,
      final List<ScalingRow> rows,
      final List<RunMeasurement> runs,
      final Map<BnMode, ScalingFit.Result> fits) {
    final List<String> out = new ArrayList<>();
    for (final BnMode bn : setup.plan().bnModes()) {
      final List<ScalingRow> mine = byTowers(rows, bn);
      if (mine.size() < 2) {
        continue;
      }
      final ScalingRow first = mine.get(0);
      final ScalingRow last = mine.get(mine.size() - 1);
      out.add(
          line(
              "%s: %.1f samples/s on %d tower%s, %.1f on %d towers: efficiency %.0f%% at %d"
                  + " towers (%s); communication (BN-statistic + gradient all-reduce) %.1f of"
                  + " %.1f ms per step there (%.0f%%).",
              bn.title(),
              first.samplesPerSecond(),
              first.towers(),
              first.towers() == 1 ? "" : "s",
              last.samplesPerSecond(),
              last.towers(),
              100 * last.efficiency(),
              last.towers(),
              setup.plan().mode().label() + " scaling",
              last.communicationMs(),
              last.meanStepMs(),
              100 * last.communicationMs() / last.meanStepMs()));
    }
    curves(setup, runs, out);
    for (final Map.Entry<BnMode, ScalingFit.Result> e : fits.entrySet()) {
      out.add(fitFinding(e.getKey(), e.getValue(), setup));
    }
    if (setup.oversubscribed()) {
      out.add(cores(setup, rows));
    }
    return out;
  }

  private static void curves(
      final SweepSetup setup, final List<RunMeasurement> runs, final List<String> out) {
    final double tolerance = curveTolerance(setup.dtype());
    final boolean float64 = "float64".equals(setup.dtype());
    final Optional<CurveSpread> sync = CurveSpread.of(runs, BnMode.SYNC);
    final Optional<CurveSpread> local = CurveSpread.of(runs, BnMode.LOCAL);
    sync.ifPresent(s -> out.add(syncCurves(s, setup.dtype(), tolerance, float64)));
    local.ifPresent(
        l ->
            out.add(
                line(
                    "Local-BN loss curves differ from the %d-tower curve by %.2g over the first %d"
                        + " steps already%s and by up to %.3g (step %d, %d towers): each tower"
                        + " normalizes with its own shard.",
                    l.baselineTowers(),
                    l.early(),
                    CurveSpread.EARLY_STEPS,
                    sync.filter(s -> s.early() > 0)
                        .map(s -> " (" + times(l.early() / s.early()) + " SyncBN's)")
                        .orElse(""),
                    l.largest(),
                    l.step(),
                    l.towers())));
  }

  private static String syncCurves(
      final CurveSpread s, final String dtype, final double tolerance, final boolean float64) {
    final double judged = float64 ? s.largest() : s.early();
    if (judged > tolerance) {
      return line(
          "SyncBN loss curves differ from the %d-tower curve by %.3g over the first %d steps (up"
              + " to %.3g at step %d, %d towers), more than %s rounding (%.0g): something besides"
              + " the tower count differs between the runs; look at each run's train.log.",
          s.baselineTowers(),
          s.early(),
          CurveSpread.EARLY_STEPS,
          s.largest(),
          s.step(),
          s.towers(),
          dtype,
          tolerance);
    }
    if (float64) {
      return line(
          "SyncBN loss curves lie on top of each other: the largest difference from the %d-tower"
              + " curve is %.2g (step %d, %d towers), float64 rounding: N towers train exactly"
              + " like one tower on the whole batch.",
          s.baselineTowers(), s.largest(), s.step(), s.towers());
    }
    return line(
        "SyncBN loss curves start on top of each other (largest difference from the %d-tower"
            + " curve %.2g over the first %d steps: float32 rounding) and stay within %.3g (step"
            + " %d, %d towers) as float32 rounding compounds through training; with"
            + " --set model.dtype=float64 they agree to ~1e-10 throughout.",
        s.baselineTowers(), s.early(), CurveSpread.EARLY_STEPS, s.largest(), s.step(), s.towers());
  }

  private static String fitFinding(
      final BnMode bn, final ScalingFit.Result fit, final SweepSetup setup) {
    if (!fit.fitted()) {
      return bn.title() + ": no step-time fit: " + fit.caveat() + ".";
    }
    final StringBuilder s =
        new StringBuilder(
            line("%s: step time fits %s (R² %.3f)", bn.title(), fit.formula(), fit.rSquared()));
    if (fit.terms().contains(ScalingFit.Term.PER_TOWER) && fit.b() > 0) {
      s.append(line("; each tower adds %.3g ms per step", fit.b()));
    }
    if (fit.peakTowers().isPresent()) {
      final double peak = fit.peakTowers().getAsDouble();
      s.append(
          line(
              "; throughput peaks near %.1f towers (%.0f samples/s) and more towers than that make"
                  + " the step slower",
              peak, fit.throughput(peak, setup.configBatch())));
    } else if (fit.halfEfficiencyTowers().isPresent()) {
      s.append(
          line(
              "; efficiency falls below 50%% beyond %.1f towers",
              fit.halfEfficiencyTowers().getAsDouble()));
    } else if (fit.terms().contains(ScalingFit.Term.PER_TOWER) && fit.b() <= 0) {
      s.append("; the fitted per-tower cost is not positive, so no limit is predicted in range");
    } else if (fit.mode() == ScalingMode.STRONG && fit.w() <= 0) {
      s.append(
          "; the fitted divisible work W is not positive: splitting the batch over more towers did"
              + " not shorten the step here, so throughput is highest on the fewest towers");
    }
    if (!fit.caveat().isEmpty()) {
      s.append(". Caveat: ").append(fit.caveat());
    }
    return s.append('.').toString();
  }

  private static String cores(final SweepSetup setup, final List<ScalingRow> rows) {
    final StringBuilder s =
        new StringBuilder(
            line(
                "**More towers than cores**: this machine has %d core%s and the sweep ran up to %d"
                    + " towers, so towers shared cores and the larger tower counts measure compute"
                    + " contention as much as scaling.",
                setup.cores(), setup.cores() == 1 ? "" : "s", setup.maxTowers()));
    for (final BnMode bn : setup.plan().bnModes()) {
      final List<ScalingRow> mine = byTowers(rows, bn);
      if (mine.size() < 2) {
        continue;
      }
      final ScalingRow first = mine.get(0);
      final ScalingRow last = mine.get(mine.size() - 1);
      s.append(
          line(
              " %s, %d vs %d tower%s: compute per sample %.3f vs %.3f ms (x%.2f: contention),"
                  + " communication %.1f vs %.1f ms per step.",
              bn.title(),
              last.towers(),
              first.towers(),
              first.towers() == 1 ? "" : "s",
              last.computeMsPerSample(),
              first.computeMsPerSample(),
              last.computeMsPerSample() / first.computeMsPerSample(),
              last.communicationMs(),
              first.communicationMs()));
    }
    return s.toString();
  }

  private static void table(final StringBuilder md, final List<ScalingRow> rows) {
    md.append(
        "| towers | BN | global batch | samples/s | step ms median | p95 | efficiency | compute"
            + " | BN reduce | all-reduce | optimizer | data wait | idle | compute ms/sample |"
            + " final loss | val acc |\n");
    md.append("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (final ScalingRow r : rows) {
      md.append(
          line(
              "| %d | %s | %d | %.1f | %.1f | %.1f | %s | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f |"
                  + " %.4f | %.4f | %s |%n",
              r.towers(),
              r.bn().title(),
              r.globalBatch(),
              r.samplesPerSecond(),
              r.medianStepMs(),
              r.p95StepMs(),
              Double.isFinite(r.efficiency()) ? line("%.0f%%", 100 * r.efficiency()) : "n/a",
              r.computeMs(),
              r.bnReduceMs(),
              r.allReduceMs(),
              r.optimizerMs(),
              r.dataWaitMs(),
              r.idleMs(),
              r.computeMsPerSample(),
              r.finalLoss(),
              Double.isFinite(r.validationAccuracy())
                  ? line("%.2f%%", 100 * r.validationAccuracy())
                  : "n/a"));
    }
    md.append(
        "\nStep-split columns are milliseconds per step (means); `scaling.csv` has them all.\n");
  }

  private static void fits(
      final StringBuilder md, final SweepSetup setup, final Map<BnMode, ScalingFit.Result> fits) {
    final ScalingMode mode = setup.plan().mode();
    md.append(
        mode == ScalingMode.STRONG
            ? "Model (strong scaling): T(N) = a + W/N + b*N: a constant per step, divisible work W"
                + " split over the towers, a cost b per tower (larger all-reduce groups, towers"
                + " competing for cores). Throughput peaks at N = sqrt(W/b).\n\n"
            : "Model (weak scaling): T(N) = a + b*N: a constant per step and a cost b per tower."
                + " Efficiency T(1)/T(N) falls below 50% at N = a/b + 2.\n\n");
    md.append("Fitted to the median step time of each tower count (least squares).\n\n");
    for (final Map.Entry<BnMode, ScalingFit.Result> e : fits.entrySet()) {
      final ScalingFit.Result f = e.getValue();
      md.append("### ").append(e.getKey().title()).append("\n\n");
      if (!f.fitted()) {
        md.append("No fit: ").append(f.caveat()).append(".\n\n");
        continue;
      }
      md.append(
          line("%s, R² = %.4f over %d tower counts.%n%n", f.formula(), f.rSquared(), f.points()));
      md.append("| coefficient | meaning | value (ms) |\n|---|---|---:|\n");
      for (final ScalingFit.Term t : f.terms()) {
        final double v =
            switch (t) {
              case CONSTANT -> f.a();
              case DIVISIBLE -> f.w();
              case PER_TOWER -> f.b();
            };
        md.append(line("| %s | %s | %.4g |%n", t.symbol(), t.meaning(), v));
      }
      md.append("\n| towers | predicted step ms | predicted samples/s |\n|---:|---:|---:|\n");
      for (final int n : EXTRAPOLATE) {
        final double ms = f.stepMillis(n);
        md.append(
            ms > 0
                ? line("| %d | %.1f | %.1f |%n", n, ms, f.throughput(n, setup.configBatch()))
                : line("| %d | (model gives %.3g: outside its range) | |%n", n, ms));
      }
      md.append('\n');
      f.peakTowers()
          .ifPresent(
              p ->
                  md.append(
                      line(
                          "Throughput peaks near N = %.1f towers; past it the per-tower cost"
                              + " outgrows the work each tower takes off the others.%n%n",
                          p)));
      if (!f.caveat().isEmpty()) {
        md.append("Caveat: ").append(f.caveat()).append(".\n\n");
      }
    }
  }

  /** A ratio for prose: "49,000 times", "3.2 times". */
  private static String times(final double ratio) {
    return ratio >= 100 ? line("%,.0f times", ratio) : line("%.1f times", ratio);
  }

  private static List<ScalingRow> byTowers(final List<ScalingRow> rows, final BnMode bn) {
    return rows.stream()
        .filter(r -> r.bn() == bn)
        .sorted(Comparator.comparingInt(ScalingRow::towers))
        .toList();
  }

  private static String line(final String format, final Object... args) {
    return String.format(Locale.ROOT, format, args);
  }
}
