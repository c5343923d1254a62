package io.synctower.common.optim;

/**
 * Cosine annealing without restarts:
 *
 * <pre>
 *   lr(t) = minLr + (baseLr - minLr) * (1 + cos(pi * min(t, T) / T)) / 2
 * </pre>
 *
 * <p>with {@code T = totalSteps}; {@code lr(0) = baseLr}, {@code lr(T) = minLr}, and the rate stays
 * at {@code minLr} after {@code T} (PyTorch's {@code CosineAnnealingLR} would climb back up).
 * Source: Loshchilov &amp; Hutter, "SGDR: Stochastic Gradient Descent with Warm Restarts" (ICLR
 * 2017), eq. (5) with a single run ({@code T_i = T}, no restart); their {@code eta_max, eta_min,
 * T_cur} are {@code baseLr, minLr, t}.
 */
public record CosineSchedule(double baseLr, double minLr, long totalSteps)
    implements LearningRateSchedule {
  /**
   * @throws IllegalArgumentException if {@code baseLr} is not finite and {@code > 0}, {@code minLr}
   *     is not in {@code [0, baseLr]}, or {@code totalSteps < 1}
   */
  public CosineSchedule {
    final String owner = "CosineSchedule";
    Checks.positiveFinite(owner, "baseLr", baseLr);
    if (!(minLr >= 0.0 && minLr <= baseLr)) {
      throw Checks.outOfRange(owner, "minLr", minLr, "must be in [0, baseLr = " + baseLr + "]");
    }
    Checks.positive(owner, "totalSteps", totalSteps);
  }

  @Override
  public double learningRate(final long step) {
    Checks.nonNegative("CosineSchedule", "step", step);
    final double progress = (double) Math.min(step, totalSteps) / totalSteps;
    return minLr + (baseLr - minLr) * 0.5 * (1.0 + Math.cos(Math.PI * progress));
  }
}
