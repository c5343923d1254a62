package io.synctower.common.optim;

/** {@code lr} at every step. */
public record ConstantSchedule(double lr) implements LearningRateSchedule {
  /**
   * @throws IllegalArgumentException if {@code lr} is not finite and {@code >= 0}
   */
  public ConstantSchedule {
    Checks.nonNegativeFinite("ConstantSchedule", "lr", lr);
  }

  @Override
  public double learningRate(final long step) {
    Checks.nonNegative("ConstantSchedule", "step", step);
    return lr;
  }
}
