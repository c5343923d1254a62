package io.synctower.coordinator.doctor;

import io.synctower.coordinator.train.EpochRecord;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Training mode against inference mode on the same training samples (seed 001: 256 images memorised
 * in training, far lower accuracy from {@code evaluate()} on the very same images). The sample is
 * forwarded with batch statistics, grouped as the run's towers group them, and with the moving
 * statistics; then with the population statistics precise BN computes from the sample.
 *
 * <p>Gap = training-mode accuracy minus inference-mode accuracy, in percentage points: PROBLEM from
 * {@value #PROBLEM_POINTS} points, WARN from {@value #WARN_POINTS} points or when the inference
 * loss is more than 1.5 times the training-mode loss and higher by more than 0.1. Precise BN
 * "closes" the gap when what is left is under {@value #WARN_POINTS} points or a quarter of it.
 */
final class TrainInferenceGapCheck implements Check {
  static final double WARN_POINTS = 2;
  static final double PROBLEM_POINTS = 10;
  private static final String NAME = "train vs inference";

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public Finding examine(final Evidence evidence) {
    if (evidence.model().statisticsLayers().isEmpty()) {
      return Finding.ok(NAME, "no BN layer: both modes compute the same", Table.none());
    }
    final Measurements m = evidence.measurements();
    final double gap = points(m.training(), m.inference());
    final double left = points(m.training(), m.preciseInference());
    final boolean lossGap =
        m.inference().loss() > 1.5 * m.training().loss()
            && m.inference().loss() - m.training().loss() > 0.1;
    final Severity severity =
        Math.abs(gap) >= PROBLEM_POINTS
            ? Severity.PROBLEM
            : Math.abs(gap) >= WARN_POINTS || lossGap ? Severity.WARN : Severity.OK;
    final String measured =
        String.format(
            Locale.ROOT,
            "%d training samples: acc %s with batch statistics, %s with moving statistics (gap %s"
                + " points); after precise BN %s",
            m.samples(),
            percent(m.training().accuracy()),
            percent(m.inference().accuracy()),
            signed(gap),
            percent(m.preciseInference().accuracy()));
    final Table table = table(evidence, m);
    if (severity == Severity.OK) {
      return Finding.ok(NAME, measured, table);
    }
    final boolean closes = Math.abs(left) < WARN_POINTS || Math.abs(left) <= Math.abs(gap) / 4;
    final boolean smallGroups = evidence.groups().smallest() < SmallBatchCheck.MIN_GROUP;
    final String verdict;
    final String fix;
    if (closes) {
      verdict = " - precise BN closes it";
      fix = StaleStatisticsCheck.PRECISE_FIX;
    } else if (smallGroups) {
      verdict = " - precise BN does not close it";
      fix =
          "the batch statistics of groups of "
              + evidence.groups().smallest()
              + " samples are too noisy to match any population statistics: make the groups"
              + " larger (see 'statistic groups')";
    } else {
      verdict = " - precise BN does not close it";
      fix =
          "the moving statistics are not the cause: compare with the validation accuracy and look"
              + " for differences between the modes outside BN (dropout is off in both here)";
    }
    return new Finding(
        NAME,
        severity,
        measured + verdict,
        "Training-mode metrics (the progress bar, metrics.csv's train_acc) normalize each"
            + " statistic group with its own batch statistics; evaluation and deployment use the"
            + " moving statistics. When they disagree on the same samples, the model you"
            + " evaluate is not the one training measured (seed 001).",
        fix,
        table);
  }

  private static Table table(final Evidence evidence, final Measurements m) {
    final List<List<String>> rows = new ArrayList<>();
    rows.add(
        row("training mode", "batch statistics: " + evidence.groups().describe(), m.training()));
    rows.add(row("inference mode", "the run's moving statistics", m.inference()));
    rows.add(
        row(
            "inference after precise BN",
            "population statistics of the sample under the final weights",
            m.preciseInference()));
    if (!evidence.epochs().isEmpty()) {
      final EpochRecord last = evidence.epochs().get(evidence.epochs().size() - 1);
      rows.add(
          List.of(
              "metrics.csv, epoch " + last.epoch() + " (train)",
              "batch statistics, averaged while the weights changed",
              format(last.trainLoss()),
              percent(last.trainAccuracy())));
      if (!Double.isNaN(last.validationAccuracy())) {
        rows.add(
            List.of(
                "metrics.csv, epoch " + last.epoch() + " (validation)",
                "moving statistics, validation set",
                format(last.validationLoss()),
                percent(last.validationAccuracy())));
      }
    }
    return new Table(List.of("measured", "normalizes with", "loss", "accuracy"), rows);
  }

  private static List<String> row(final String what, final String with, final Metrics metrics) {
    return List.of(what, with, format(metrics.loss()), percent(metrics.accuracy()));
  }

  private static double points(final Metrics training, final Metrics inference) {
    return 100 * (training.accuracy() - inference.accuracy());
  }

  static String percent(final double fraction) {
    return String.format(Locale.ROOT, "%.1f%%", 100 * fraction);
  }

  private static String signed(final double points) {
    return String.format(Locale.ROOT, "%.1f", points);
  }

  private static String format(final double v) {
    return String.format(Locale.ROOT, "%.4f", v);
  }
}
