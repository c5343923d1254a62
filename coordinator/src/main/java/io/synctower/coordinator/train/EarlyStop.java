package io.synctower.coordinator.train;

import io.synctower.common.config.RunConfig;

/**
 * Early stopping, Keras's {@code EarlyStopping} rule: each epoch counts one more epoch without an
 * improvement unless the monitored value beats the best so far by more than {@code minDelta}; once
 * {@code patience} such epochs are in a row, the run stops after that epoch. The state is a pure
 * function of the epochs' rows as {@code metrics.csv} holds them, so a resumed run rebuilds it by
 * replaying its checkpoint's rows and decides exactly as the uninterrupted run did.
 */
final class EarlyStop {
  private final RunConfig.EarlyStopping rule;
  private double best;
  private int bestEpoch;
  private long bestStep;
  private int wait;
  private int stoppedAfter;

  EarlyStop(final RunConfig.EarlyStopping rule) {
    this.rule = rule;
    this.best = MonitoredValue.worst(rule.minimize());
  }

  /** What one epoch's row did to the rule. */
  enum Verdict {
    /** The monitored value is the best so far (its checkpoint is worth keeping). */
    IMPROVED,
    /** No improvement, patience left. */
    WAITING,
    /** No improvement for {@code patience} epochs: the run stops after this epoch. */
    STOP
  }

  /** Takes a completed epoch's row (values as metrics.csv holds them). */
  Verdict observe(final EpochRecord row) {
    if (stopped()) {
      throw new IllegalStateException("the run already stopped after epoch " + stoppedAfter);
    }
    final double value = MonitoredValue.of(row, rule.monitor());
    wait++;
    if (MonitoredValue.improves(value, best, rule.minDelta(), rule.minimize())) {
      best = value;
      bestEpoch = row.epoch();
      bestStep = row.step();
      wait = 0;
      return Verdict.IMPROVED;
    }
    if (wait >= rule.patience()) {
      stoppedAfter = row.epoch();
      return Verdict.STOP;
    }
    return Verdict.WAITING;
  }

  boolean stopped() {
    return stoppedAfter > 0;
  }

  /** The epoch after which the run stopped; 0 while it goes on. */
  int stoppedAfter() {
    return stoppedAfter;
  }

  /** Whether some epoch set a best value yet. */
  boolean hasBest() {
    return bestEpoch > 0;
  }

  double best() {
    return best;
  }

  int bestEpoch() {
    return bestEpoch;
  }

  long bestStep() {
    return bestStep;
  }

  /** Epochs in a row without an improvement. */
  int epochsWithoutImprovement() {
    return wait;
  }

  RunConfig.EarlyStopping rule() {
    return rule;
  }
}
