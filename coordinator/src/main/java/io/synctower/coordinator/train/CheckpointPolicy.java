package io.synctower.coordinator.train;

import io.synctower.common.config.RunConfig;

/**
 * When the coordinator asks for a checkpoint: every {@code checkpoint.every.steps} steps and/or
 * every {@code checkpoint.every.minutes} of wall time since the last one, whichever comes first.
 * The end of a run always gets one (the trainer asks for it directly).
 */
final class CheckpointPolicy {
  private final long everySteps;
  private final long everyNanos;
  private long lastNanos;

  CheckpointPolicy(final RunConfig.Checkpointing c, final long nowNanos) {
    this.everySteps = c.everySteps();
    this.everyNanos = (long) (c.everyMinutes() * 60e9);
    this.lastNanos = nowNanos;
  }

  /** Whether to checkpoint after {@code stepsDone} steps, at {@code nowNanos}. */
  boolean due(final long stepsDone, final long nowNanos) {
    return (everySteps > 0 && stepsDone % everySteps == 0)
        || (everyNanos > 0 && nowNanos - lastNanos >= everyNanos);
  }

  /** A checkpoint was taken at {@code nowNanos}: the time interval restarts. */
  void taken(final long nowNanos) {
    lastNanos = nowNanos;
  }
}
