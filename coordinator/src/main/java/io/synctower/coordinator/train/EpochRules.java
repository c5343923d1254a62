package io.synctower.coordinator.train;

import io.synctower.common.config.RunConfig;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * The decisions a run makes at the end of each complete epoch, from that epoch's {@code
 * metrics.csv} row: early stopping ({@link EarlyStop}) and reduce-LR-on-plateau ({@link
 * LrPlateau}), each off unless its {@code patience} is positive.
 *
 * <p>Exact resume without state of its own: every decision is made on the row read back from its
 * CSV text ({@code EpochRecord.parseCsv(row.csv())}, six significant digits), and a run that starts
 * from a checkpoint first {@link #replay replays} the rows the checkpoint holds. The live run and
 * the resumed one therefore see the same numbers and reach the same learning-rate factor and the
 * same stop, bit for bit. A row of an epoch that {@code training.steps} cut short is not decided
 * on: the resumed run writes it again, complete.
 */
final class EpochRules {
  /** What the end of one epoch decided. */
  record Outcome(boolean bestImproved, boolean stop, List<String> lines) {}

  private final EarlyStop earlyStop;
  private final LrPlateau plateau;

  EpochRules(final RunConfig.Training training) {
    this.earlyStop =
        training.earlyStopping().enabled() ? new EarlyStop(training.earlyStopping()) : null;
    this.plateau =
        training.reduceLrOnPlateau().enabled() ? new LrPlateau(training.reduceLrOnPlateau()) : null;
  }

  /** Rebuilds the state of the rules from the completed epochs' rows of a checkpoint. */
  void replay(final List<EpochRecord> completed) {
    for (final EpochRecord row : completed) {
      if (!stopped()) {
        afterEpoch(row);
      }
    }
  }

  /**
   * Decides on a complete epoch's row; the row is taken as {@code metrics.csv} holds it.
   *
   * @return whether the monitored value is the best so far (early stopping keeps its checkpoint),
   *     whether the run stops now, and the lines to print
   */
  Outcome afterEpoch(final EpochRecord record) {
    final EpochRecord row = EpochRecord.parseCsv(record.csv());
    boolean improved = false;
    boolean stop = false;
    final List<String> lines = new java.util.ArrayList<>();
    if (earlyStop != null) {
      final EarlyStop.Verdict v = earlyStop.observe(row);
      improved = v == EarlyStop.Verdict.IMPROVED;
      stop = v == EarlyStop.Verdict.STOP;
    }
    if (plateau != null && !stop && plateau.observe(row)) {
      final RunConfig.ReduceLrOnPlateau r = plateau.rule();
      lines.add(
          String.format(
              Locale.ROOT,
              "reduce-LR-on-plateau: %s has not improved on %.6g for %d epoch(s) after epoch %d;"
                  + " learning rate x%s from now on (the schedule's x %.6g, not below minLr %s)",
              r.monitor().column(),
              plateau.best(),
              r.patience(),
              row.epoch(),
              r.factor(),
              plateau.factor(),
              r.minLr()));
    }
    return new Outcome(improved, stop, List.copyOf(lines));
  }

  /** Whether early stopping has ended the run. */
  boolean stopped() {
    return earlyStop != null && earlyStop.stopped();
  }

  /** Whether early stopping is on, so the best epoch's checkpoint is kept. */
  boolean keepsBest() {
    return earlyStop != null;
  }

  /** A step's learning rate: the schedule's {@code scheduled}, times the plateau factor. */
  double learningRate(final double scheduled) {
    return plateau == null ? scheduled : plateau.learningRate(scheduled);
  }

  /** The plateau factor so far (1 without reductions). */
  double lrFactor() {
    return plateau == null ? 1.0 : plateau.factor();
  }

  /**
   * The run's last word on early stopping: why it stopped (or that it did not) and where the best
   * epoch's weights are; null when early stopping is off.
   *
   * @param best the best epoch's checkpoint store, or null when the run keeps no files
   */
  String summary(final Path best) {
    if (earlyStop == null) {
      return null;
    }
    final RunConfig.EarlyStopping r = earlyStop.rule();
    final String where =
        !earlyStop.hasBest()
            ? "no epoch had a finite " + r.monitor().column()
            : String.format(
                Locale.ROOT,
                "best %s %.6g at epoch %d (step %d)%s",
                r.monitor().column(),
                earlyStop.best(),
                earlyStop.bestEpoch(),
                earlyStop.bestStep(),
                best == null
                    ? " (no run directory: its weights are not kept)"
                    : ", its checkpoint in "
                        + best
                        + " (synctower export --checkpoint "
                        + best
                        + ")");
    if (!earlyStop.stopped()) {
      return "early stopping: did not stop; " + where;
    }
    return String.format(
        Locale.ROOT,
        "early stopping: %s did not improve by more than minDelta %s for %d epochs (patience %d),"
            + " stopped after epoch %d; %s",
        r.monitor().column(),
        r.minDelta(),
        earlyStop.epochsWithoutImprovement(),
        r.patience(),
        earlyStop.stoppedAfter(),
        where);
  }
}
