package io.synctower.coordinator.train;

import io.synctower.common.config.RunConfig;

/**
 * The value of a monitored {@code metrics.csv} column in an epoch's row, and when one value beats
 * another: the arithmetic both end-of-epoch rules ({@link EarlyStop}, {@link LrPlateau}) share.
 */
final class MonitoredValue {
  private MonitoredValue() {}

  /** {@code monitor}'s column of {@code row}; NaN where the row has no value. */
  static double of(final EpochRecord row, final RunConfig.Monitor monitor) {
    return switch (monitor) {
      case TRAIN_LOSS -> row.trainLoss();
      case TRAIN_ACC -> row.trainAccuracy();
      case TRAIN_SEQ_ACC -> row.trainSequenceAccuracy();
      case VAL_LOSS -> row.validationLoss();
      case VAL_ACC -> row.validationAccuracy();
      case VAL_SEQ_ACC -> row.validationSequenceAccuracy();
    };
  }

  /**
   * Whether {@code value} beats {@code best} by more than {@code minDelta} (Keras's rule: by
   * exactly {@code minDelta} is no improvement). NaN never improves; the first finite value beats
   * the starting best ({@link #worst}).
   */
  static boolean improves(
      final double value, final double best, final double minDelta, final boolean minimize) {
    return minimize ? value + minDelta < best : value - minDelta > best;
  }

  /** The best before any epoch: every finite value improves on it. */
  static double worst(final boolean minimize) {
    return minimize ? Double.POSITIVE_INFINITY : Double.NEGATIVE_INFINITY;
  }
}
