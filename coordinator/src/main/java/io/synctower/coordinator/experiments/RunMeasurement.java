package io.synctower.coordinator.experiments;

import io.synctower.coordinator.train.StepTimings;
import java.util.Objects;

/**
 * What one run of a sweep measured.
 *
 * @param run which run
 * @param timings the step timings after the warm-up steps
 * @param losses the mean loss of every step over its global batch, warm-up included, by step
 * @param trainAccuracy accuracy over the run's steps in training mode (0..1)
 * @param validationLoss loss on the validation set after the run, NaN without one
 * @param validationAccuracy accuracy on the validation set after the run, NaN without one
 * @param seconds wall time of the whole run, start-up and validation included
 */
public record RunMeasurement(
    ScalePlan.Run run,
    StepTimings timings,
    double[] losses,
    double trainAccuracy,
    double validationLoss,
    double validationAccuracy,
    double seconds) {
  public RunMeasurement {
    Objects.requireNonNull(run, "run");
    Objects.requireNonNull(timings, "timings");
    losses = losses.clone();
  }

  /** The loss of the last step, NaN when the run took none. */
  public double finalLoss() {
    return losses.length == 0 ? Double.NaN : losses[losses.length - 1];
  }

  /** A copy of the per-step losses. */
  @Override
  public double[] losses() {
    return losses.clone();
  }
}
