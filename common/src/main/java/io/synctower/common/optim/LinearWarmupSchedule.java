package io.synctower.common.optim;

import java.util.Objects;

/**
 * Linear warm-up in front of another schedule: the rate climbs linearly from {@code startFactor}
 * times the target to the target over {@code warmupSteps} updates, then follows {@code after}.
 * Gradual warm-up is what makes the linear scaling rule work for large batches (Goyal et al.,
 * "Accurate, Large Minibatch SGD", 2017, Section 2.2).
 *
 * <p>With {@code w = warmupSteps} and {@code f = startFactor}, for {@code t < w} the warm-up factor
 * is {@code f + (1 - f) * t / w} (so {@code f} at {@code t = 0}; factor 1 is reached at {@code t =
 * w}, which is already past the warm-up). The two {@link Mode}s say what the factor multiplies and
 * how {@code after}'s clock runs.
 */
public record LinearWarmupSchedule(
    LearningRateSchedule after, long warmupSteps, double startFactor, Mode mode)
    implements LearningRateSchedule {
  /** How warm-up and the wrapped schedule share the step counter. */
  public enum Mode {
    /**
     * {@code after} starts when warm-up ends: {@code lr(t) = factor(t) * after(0)} for {@code t <
     * w}, then {@code after(t - w)}. Continuous at {@code t = w}. Use this with a cosine whose
     * {@code totalSteps} is the run length minus {@code w} (what {@link ScheduleSpec} does), as in
     * Hugging Face's and timm's cosine-with-warm-up.
     */
    SHIFTED,
    /**
     * {@code after} runs on the global clock from step 0 and warm-up scales it: {@code lr(t) =
     * factor(t) * after(t)} for {@code t < w}, then {@code after(t)}. This is Goyal et al.'s
     * recipe, where the step-decay milestones count from the start of training, and what chaining
     * PyTorch's {@code LinearLR} with another scheduler gives.
     */
    OVERLAPPED
  }

  /**
   * @throws IllegalArgumentException if {@code warmupSteps < 0} or {@code startFactor} is not in
   *     {@code [0, 1]}
   */
  public LinearWarmupSchedule {
    Objects.requireNonNull(after, "after");
    Objects.requireNonNull(mode, "mode");
    Checks.nonNegative("LinearWarmupSchedule", "warmupSteps", warmupSteps);
    Checks.unitClosed("LinearWarmupSchedule", "startFactor", startFactor);
  }

  @Override
  public double learningRate(final long step) {
    Checks.nonNegative("LinearWarmupSchedule", "step", step);
    if (step >= warmupSteps) {
      return after.learningRate(mode == Mode.SHIFTED ? step - warmupSteps : step);
    }
    final double factor = startFactor + (1.0 - startFactor) * step / warmupSteps;
    return factor * after.learningRate(mode == Mode.SHIFTED ? 0 : step);
  }
}
