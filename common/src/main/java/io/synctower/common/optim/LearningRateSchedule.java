package io.synctower.common.optim;

/**
 * A learning rate as a pure function of the update index, so a run resumed from a checkpoint at
 * update {@code n} gets exactly the rates it would have had without the restart.
 *
 * <pre>{@code
 * LearningRateSchedule lrs = LearningRateSchedule.linearWarmup(
 *     LearningRateSchedule.cosine(0.1, 0.0, 90_000), 500, 0.0, LinearWarmupSchedule.Mode.SHIFTED);
 * for (long step = opt.state().updates(); step < total; step++) {
 *   opt.step(params, grads, lrs.learningRate(step));
 * }
 * }</pre>
 *
 * <p>{@code step} is 0-based: the number of updates applied before this one ({@link
 * OptimizerState#updates()}). Implementations are immutable, allocate nothing and may be shared
 * across threads.
 */
@FunctionalInterface
public interface LearningRateSchedule {
  /**
   * The rate for update {@code step}, finite and {@code >= 0}.
   *
   * @throws IllegalArgumentException if {@code step < 0}
   */
  double learningRate(long step);

  /** The same rate at every step. */
  static LearningRateSchedule constant(final double lr) {
    return new ConstantSchedule(lr);
  }

  /** {@code baseLr * gamma^floor(step / stepSize)}; see {@link StepDecaySchedule}. */
  static LearningRateSchedule stepDecay(
      final double baseLr, final long stepSize, final double gamma) {
    return new StepDecaySchedule(baseLr, stepSize, gamma);
  }

  /**
   * Half-cosine from {@code baseLr} to {@code minLr} over {@code totalSteps}; see {@link
   * CosineSchedule}.
   */
  static LearningRateSchedule cosine(
      final double baseLr, final double minLr, final long totalSteps) {
    return new CosineSchedule(baseLr, minLr, totalSteps);
  }

  /** Linear warm-up in front of {@code after}; see {@link LinearWarmupSchedule}. */
  static LearningRateSchedule linearWarmup(
      final LearningRateSchedule after,
      final long warmupSteps,
      final double startFactor,
      final LinearWarmupSchedule.Mode mode) {
    return new LinearWarmupSchedule(after, warmupSteps, startFactor, mode);
  }

  /**
   * The linear scaling rule: {@code baseLr * globalBatch / referenceBatch}. When the minibatch size
   * is multiplied by {@code k}, multiply the learning rate by {@code k} (Goyal et al., "Accurate,
   * Large Minibatch SGD: Training ImageNet in 1 Hour", 2017, Section 2.1; they use {@code 0.1 *
   * globalBatch / 256} for ResNet-50). Pair it with a warm-up: the rule breaks down in the first
   * epochs, which is what their gradual warm-up fixes. {@code globalBatch} is the sum over all
   * towers.
   *
   * @throws IllegalArgumentException if {@code baseLr} is not finite and {@code > 0} or a batch
   *     size is not {@code >= 1}
   */
  static double linearScaling(
      final double baseLr, final long globalBatch, final long referenceBatch) {
    final String owner = "linearScaling";
    Checks.positiveFinite(owner, "baseLr", baseLr);
    Checks.positive(owner, "globalBatch", globalBatch);
    Checks.positive(owner, "referenceBatch", referenceBatch);
    return baseLr * globalBatch / referenceBatch;
  }
}
