package io.synctower.coordinator.towers;

import java.time.Duration;
import java.util.Arrays;

/**
 * When a training step has taken too long to be anything but stalled: {@code failure.stepDeadline}
 * beyond three typical steps (the median of the last completed ones). The first steps have no
 * deadline (warm-up, autotuning), and a slow model only moves the deadline, never trips it.
 *
 * <pre>{@code
 * watch.sent(now);                          // a TrainStep went out
 * long deadline = watch.deadline();         // Long.MAX_VALUE while warming up
 * watch.completed(now);                     // its round came back
 * }</pre>
 */
final class StallWatch {
  private static final int WARM_UP_STEPS = 3;
  private final long graceNanos;
  private final long[] recent = new long[16];
  private int completed;
  private long sentNanos;
  private boolean armed;

  StallWatch(final Duration stepDeadline) {
    this.graceNanos = stepDeadline.toNanos();
  }

  /** A training step was sent at {@code nowNanos}. */
  public void sent(final long nowNanos) {
    sentNanos = nowNanos;
    armed = true;
  }

  /** Anything but a training step was sent: no deadline until the next step. */
  public void disarm() {
    armed = false;
  }

  /** The step in flight came back at {@code nowNanos}. */
  public void completed(final long nowNanos) {
    if (armed) {
      recent[completed % recent.length] = nowNanos - sentNanos;
      completed++;
      armed = false;
    }
  }

  /** The System.nanoTime() after which the step in flight counts as stalled. */
  public long deadline() {
    if (!armed || completed < WARM_UP_STEPS) {
      return Long.MAX_VALUE;
    }
    return sentNanos + 3 * typicalNanos() + graceNanos;
  }

  /** Median duration of the recent completed steps. */
  public long typicalNanos() {
    final long[] sorted = Arrays.copyOf(recent, Math.min(completed, recent.length));
    Arrays.sort(sorted);
    return sorted.length == 0 ? 0 : sorted[sorted.length / 2];
  }
}
