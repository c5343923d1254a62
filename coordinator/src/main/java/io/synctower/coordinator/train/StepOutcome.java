package io.synctower.coordinator.train;

import io.synctower.common.metrics.MetricSums;
import io.synctower.common.protocol.Report;
import java.util.ArrayList;
import java.util.List;

/**
 * One committed step, summed over its towers' reports: count-weighted sums, whether the update was
 * skipped, and which towers saw non-finite values where.
 */
record StepOutcome(MetricSums sums, boolean skipped, List<String> nonFinite) {

  /** Adds the towers' sums in rank order of the round (the same order on every run). */
  static StepOutcome of(final List<Report> round) {
    MetricSums sums = MetricSums.ZERO;
    boolean skipped = false;
    final List<String> where = new ArrayList<>();
    for (final Report r : round) {
      final Report.StepDone d = (Report.StepDone) r;
      sums = sums.plus(d.sums());
      skipped |= d.skipped();
      if (!d.nonFinite().isEmpty()) {
        where.add("tower " + d.rank() + ": " + d.nonFinite());
      }
    }
    return new StepOutcome(sums, skipped, List.copyOf(where));
  }

  /** Mean loss over the global batch. */
  double meanLoss() {
    return sums.meanLoss();
  }

  String nonFiniteDescription() {
    return nonFinite.isEmpty()
        ? "the reduced gradient was non-finite on every tower"
        : "non-finite values first in " + String.join("; ", nonFinite);
  }
}
