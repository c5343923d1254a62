package io.synctower.coordinator.doctor;

import io.synctower.common.nn.SoftmaxCrossEntropy;

/**
 * Mean loss and per-position accuracy of a model over the doctor's sample, in one BN mode.
 *
 * @param loss mean softmax cross-entropy per sample (over its label positions)
 * @param accuracy fraction of label positions predicted right
 * @param samples samples measured
 */
public record Metrics(double loss, double accuracy, long samples) {
  /** Adds up {@link SoftmaxCrossEntropy.Result}s of forwards over disjoint slices. */
  static final class Sums {
    private final int positions;
    private double lossSum;
    private long correct;
    private long samples;

    Sums(final int positions) {
      this.positions = positions;
    }

    void add(final SoftmaxCrossEntropy.Result r) {
      lossSum += r.lossSum();
      correct += r.correctPositions();
      samples += r.samples();
    }

    Metrics metrics() {
      return new Metrics(
          lossSum / samples, (double) correct / ((double) samples * positions), samples);
    }
  }
}
