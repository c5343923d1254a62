package io.synctower.coordinator.train;

import io.synctower.common.config.RunConfig;

/**
 * Reduce-LR-on-plateau, Keras's {@code ReduceLROnPlateau} rule on top of the schedule: after {@code
 * patience} epochs without an improvement of more than {@code minDelta} (epochs in cooldown do not
 * count), and while the epoch's learning rate is above {@code minLr}, the learning-rate factor is
 * multiplied by {@code factor} and {@code cooldown} epochs follow. Every later step's learning rate
 * is the schedule's times the factor, but a reduction never takes it below {@code minLr} (where the
 * schedule alone is lower, the schedule's rate is used).
 *
 * <p>The state is a pure function of the epochs' rows as {@code metrics.csv} holds them (the
 * monitored value and the {@code lr} column), so a resumed run rebuilds it by replaying its
 * checkpoint's rows.
 */
final class LrPlateau {
  private final RunConfig.ReduceLrOnPlateau rule;
  private double best;
  private int wait;
  private int cooldown;
  private double factor = 1.0;

  LrPlateau(final RunConfig.ReduceLrOnPlateau rule) {
    this.rule = rule;
    this.best = MonitoredValue.worst(rule.minimize());
  }

  /**
   * Takes a completed epoch's row (values as metrics.csv holds them, its {@code lr} the last
   * step's); returns whether the factor was reduced for the following steps.
   */
  boolean observe(final EpochRecord row) {
    final double value = MonitoredValue.of(row, rule.monitor());
    if (cooldown > 0) {
      cooldown--;
      wait = 0;
    }
    if (MonitoredValue.improves(value, best, rule.minDelta(), rule.minimize())) {
      best = value;
      wait = 0;
      return false;
    }
    if (cooldown > 0) {
      return false;
    }
    wait++;
    if (wait >= rule.patience() && row.learningRate() > rule.minLr()) {
      factor *= rule.factor();
      cooldown = rule.cooldown();
      wait = 0;
      return true;
    }
    return false;
  }

  /** The product of the reductions so far (1 before any). */
  double factor() {
    return factor;
  }

  /** A step's learning rate: the schedule's {@code scheduled}, reduced, never below minLr. */
  double learningRate(final double scheduled) {
    if (factor == 1.0) {
      return scheduled;
    }
    return Math.max(scheduled * factor, Math.min(scheduled, rule.minLr()));
  }

  /** The best monitored value so far. */
  double best() {
    return best;
  }

  /** Epochs without an improvement since the last one, reduction or cooldown. */
  int epochsWithoutImprovement() {
    return wait;
  }

  RunConfig.ReduceLrOnPlateau rule() {
    return rule;
  }
}
