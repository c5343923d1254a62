package io.synctower.coordinator.experiments;

import java.util.List;
import java.util.Optional;

/**
 * How far apart the loss curves of one BN mode lie: the largest difference between a run's loss and
 * the loss of the run with the fewest towers, over the first {@link #EARLY_STEPS} steps and over
 * the whole run. With SyncBN the early difference is rounding noise (N towers compute what one
 * tower computes on the whole batch; in float32 that noise then compounds through training); with
 * local BN each tower normalizes with its own shard, so the curves differ from the first step on.
 *
 * @param early the largest absolute loss difference over the first {@link #EARLY_STEPS} steps
 * @param largest the largest absolute loss difference over all steps
 * @param step the step where {@code largest} occurs
 * @param towers the tower count of the run where {@code largest} occurs
 * @param baselineTowers the tower count the others are compared with
 */
public record CurveSpread(
    BnMode bn, double early, double largest, int step, int towers, int baselineTowers) {
  /** Steps counted as "early": before rounding differences have had time to compound. */
  public static final int EARLY_STEPS = 3;

  /** The spread of {@code bn}'s curves; empty with fewer than two runs of that mode. */
  public static Optional<CurveSpread> of(final List<RunMeasurement> runs, final BnMode bn) {
    final Optional<RunMeasurement> base = ScalingTable.baseline(runs, bn);
    if (base.isEmpty()) {
      return Optional.empty();
    }
    final double[] reference = base.get().losses();
    double early = 0;
    double largest = -1;
    int atStep = 0;
    int atTowers = 0;
    for (final RunMeasurement m : runs) {
      if (m.run().bn() != bn || m == base.get()) {
        continue;
      }
      final double[] losses = m.losses();
      for (int s = 0; s < Math.min(losses.length, reference.length); s++) {
        // NaN (a diverged run) counts as infinitely far.
        final double d =
            Double.isNaN(losses[s] - reference[s])
                ? Double.POSITIVE_INFINITY
                : Math.abs(losses[s] - reference[s]);
        if (s < EARLY_STEPS) {
          early = Math.max(early, d);
        }
        if (d > largest) {
          largest = d;
          atStep = s;
          atTowers = m.run().towers();
        }
      }
    }
    if (largest < 0) {
      return Optional.empty();
    }
    return Optional.of(
        new CurveSpread(bn, early, largest, atStep, atTowers, base.get().run().towers()));
  }
}
