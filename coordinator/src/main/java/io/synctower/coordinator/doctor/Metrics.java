package io.synctower.coordinator.doctor;

import io.synctower.common.metrics.MetricSums;

/**
 * Mean loss and per-position accuracy of a model over the doctor's sample, in one BN mode.
 *
 * @param loss mean softmax cross-entropy per sample (over its label positions)
 * @param accuracy fraction of label positions predicted right
 * @param samples samples measured
 */
public record Metrics(double loss, double accuracy, long samples) {
  /** Adds up the {@link MetricSums} of forwards over disjoint slices. */
  static final class Sums {
    private final int positions;
    private MetricSums sums = MetricSums.ZERO;

    Sums(final int positions) {
      this.positions = positions;
    }

    void add(final MetricSums r) {
      sums = sums.plus(r);
    }

    Metrics metrics() {
      final long samples = sums.samples();
      return new Metrics(
          sums.lossSum() / samples,
          (double) sums.correctPositions() / ((double) samples * positions),
          samples);
    }
  }
}
