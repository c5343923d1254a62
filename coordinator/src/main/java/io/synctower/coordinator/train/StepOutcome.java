package io.synctower.coordinator.train;

import io.synctower.common.protocol.Report;
import java.util.ArrayList;
import java.util.List;

/**
 * One committed step, summed over its towers' reports: count-weighted sums, whether the update was
 * skipped, and which towers saw non-finite values where.
 */
record StepOutcome(
    double lossSum,
    long correctPositions,
    long correctSequences,
    long samples,
    boolean skipped,
    List<String> nonFinite) {

  static StepOutcome of(final List<Report> round) {
    double lossSum = 0;
    long positions = 0;
    long sequences = 0;
    long samples = 0;
    boolean skipped = false;
    final List<String> where = new ArrayList<>();
    for (final Report r : round) {
      final Report.StepDone d = (Report.StepDone) r;
      lossSum += d.lossSum();
      positions += d.correctPositions();
      sequences += d.correctSequences();
      samples += d.samples();
      skipped |= d.skipped();
      if (!d.nonFinite().isEmpty()) {
        where.add("tower " + d.rank() + ": " + d.nonFinite());
      }
    }
    return new StepOutcome(lossSum, positions, sequences, samples, skipped, List.copyOf(where));
  }

  /** Mean loss over the global batch. */
  double meanLoss() {
    return samples == 0 ? Double.NaN : lossSum / samples;
  }

  String nonFiniteDescription() {
    return nonFinite.isEmpty()
        ? "the reduced gradient was non-finite on every tower"
        : "non-finite values first in " + String.join("; ", nonFinite);
  }
}
