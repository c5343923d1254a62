package io.synctower.common.optim;

/**
 * Step decay: {@code lr(step) = baseLr * gamma^floor(step / stepSize)}, i.e. multiply by {@code
 * gamma} every {@code stepSize} updates, as PyTorch's {@code StepLR} (counted in updates here, not
 * epochs). The classic ImageNet ResNet recipe (He et al. 2016) is {@code gamma = 0.1} every 30
 * epochs.
 */
public record StepDecaySchedule(double baseLr, long stepSize, double gamma)
    implements LearningRateSchedule {
  /**
   * @throws IllegalArgumentException if {@code baseLr} is not finite and {@code > 0}, {@code
   *     stepSize < 1}, or {@code gamma} is not in {@code (0, 1]}
   */
  public StepDecaySchedule {
    final String owner = "StepDecaySchedule";
    Checks.positiveFinite(owner, "baseLr", baseLr);
    Checks.positive(owner, "stepSize", stepSize);
    if (!(gamma > 0.0 && gamma <= 1.0)) {
      throw Checks.outOfRange(owner, "gamma", gamma, "must be in (0, 1]");
    }
  }

  @Override
  public double learningRate(final long step) {
    Checks.nonNegative("StepDecaySchedule", "step", step);
    return baseLr * Math.pow(gamma, (double) (step / stepSize));
  }
}
