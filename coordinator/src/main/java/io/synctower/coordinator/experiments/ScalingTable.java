package io.synctower.coordinator.experiments;

import io.synctower.coordinator.train.StepTimings;
import io.synctower.coordinator.train.StepTimings.Phase;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * Turns the measured runs of a sweep into {@link ScalingRow}s: throughput, the step-time statistics
 * and split, and the scaling efficiency against the smallest tower count of the same BN mode.
 */
public final class ScalingTable {
  private ScalingTable() {}

  /** One row per run, in the runs' order. */
  public static List<ScalingRow> of(final ScalingMode mode, final List<RunMeasurement> runs) {
    final List<ScalingRow> rows = new ArrayList<>();
    for (final RunMeasurement m : runs) {
      final Optional<RunMeasurement> base = baseline(runs, m.run().bn());
      final double throughput = throughput(m);
      final double efficiency =
          base.map(b -> throughput / ((double) m.run().towers() / b.run().towers() * throughput(b)))
              .orElse(Double.NaN);
      final StepTimings t = m.timings();
      rows.add(
          new ScalingRow(
              m.run().towers(),
              m.run().bn(),
              mode,
              m.run().globalBatch(),
              m.run().towerBatch(),
              t.steps(),
              throughput,
              t.medianMillis(),
              t.percentileMillis(95),
              t.meanMillis(),
              t.meanMillis(Phase.DATA_WAIT),
              t.meanMillis(Phase.FORWARD) + t.meanMillis(Phase.BACKWARD),
              t.meanMillis(Phase.BN_REDUCE),
              t.meanMillis(Phase.ALL_REDUCE),
              t.meanMillis(Phase.OPTIMIZER),
              t.meanMillis(Phase.IDLE),
              t.computeMillisPerSample(),
              efficiency,
              m.finalLoss(),
              m.trainAccuracy(),
              m.validationLoss(),
              m.validationAccuracy()));
    }
    return rows;
  }

  /** Samples per second of a run: its global batch over its median step time. */
  static double throughput(final RunMeasurement m) {
    return m.run().globalBatch() / (m.timings().medianMillis() / 1000);
  }

  /** The run with the fewest towers among those with BN mode {@code bn}. */
  static Optional<RunMeasurement> baseline(final List<RunMeasurement> runs, final BnMode bn) {
    return runs.stream()
        .filter(r -> r.run().bn() == bn)
        .min(Comparator.comparingInt(r -> r.run().towers()));
  }
}
