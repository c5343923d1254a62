package io.synctower.coordinator.cli;

import java.io.PrintStream;
import java.util.Locale;

/**
 * The untimed steps before a measurement: at least {@code minSteps} steps and at least {@code
 * minSeconds} of them.
 *
 * <p>Why seconds and not only steps: the JVM compiles the step's Java code (ND4J's op dispatch and
 * ours) while it runs, on the same cores the step's native threads use. On 2 cores the quick
 * start's steps ran 2-5x slower now and then during its first 3-4 seconds (compilations stalling
 * the OpenMP team), then settled: a few warm-up steps measured the compiler, not the trainer, and a
 * fixed step count fits no model (300 quick-start steps are 10 s, 300 ResNet-50 steps an hour). A
 * training run is thousands of steps, so its throughput is the steady state measured after this.
 *
 * @param minSteps at least 0
 * @param minSeconds at least 0
 */
record WarmUp(int minSteps, double minSeconds) {
  /** What {@code bench step} does unless told otherwise. */
  static final int DEFAULT_STEPS = 3;

  static final double DEFAULT_SECONDS = 10;

  /** One step, numbered from 0. */
  @FunctionalInterface
  interface Step {
    void run(int index) throws InterruptedException;
  }

  WarmUp {
    if (minSteps < 0) {
      throw new IllegalArgumentException("must be >= 0, got " + minSteps);
    }
    if (!(minSeconds >= 0) || Double.isInfinite(minSeconds)) {
      throw new IllegalArgumentException("must be a finite number >= 0, got " + minSeconds);
    }
  }

  /** Runs the warm-up steps, prints how many it took, and returns that count. */
  int run(final Step step, final PrintStream out) throws InterruptedException {
    final long start = System.nanoTime();
    final int steps = runQuietly(step);
    out.printf(
        Locale.ROOT,
        "warm-up: %d steps in %.1f s (at least %d steps and %s s, untimed)%n",
        steps,
        (System.nanoTime() - start) / 1e9,
        minSteps,
        seconds());
    return steps;
  }

  /** Runs the warm-up steps and returns how many it took. */
  int runQuietly(final Step step) throws InterruptedException {
    final long start = System.nanoTime();
    final long minNanos = (long) (minSeconds * 1e9);
    int steps = 0;
    while (steps < minSteps || System.nanoTime() - start < minNanos) {
      step.run(steps);
      steps++;
    }
    return steps;
  }

  /** The seconds as given: {@code 10}, {@code 0.5}. */
  String seconds() {
    return minSeconds == Math.rint(minSeconds)
        ? Long.toString((long) minSeconds)
        : Double.toString(minSeconds);
  }
}
