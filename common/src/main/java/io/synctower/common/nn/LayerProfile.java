package io.synctower.common.nn;

/**
 * A {@link LayerTimer} that keeps every timed step: per layer and direction, one sum of nanoseconds
 * per step, in arrays sized once for {@code steps} steps (recording allocates nothing). The caller
 * marks each step with {@link #beginStep()} before the model's forward.
 */
public final class LayerProfile implements LayerTimer {
  private final long[][] forward;
  private final long[][] backward;
  private final boolean[] ranBackward;
  private int step = -1;

  /** Room for {@code steps} steps of a model with {@code layers} layers. */
  public LayerProfile(final int layers, final int steps) {
    if (layers < 1 || steps < 1) {
      throw new IllegalArgumentException(
          "a profile needs at least one layer and one step, got " + layers + " and " + steps);
    }
    this.forward = new long[layers][steps];
    this.backward = new long[layers][steps];
    this.ranBackward = new boolean[layers];
  }

  /** Starts the next step's record; fails past the capacity given at construction. */
  public void beginStep() {
    if (step + 1 >= forward[0].length) {
      throw new IllegalStateException(
          "profile holds " + forward[0].length + " steps; make it larger for more");
    }
    step++;
  }

  @Override
  public void forwardDone(final int layer, final long nanos) {
    forward[layer][step] += nanos;
  }

  @Override
  public void backwardDone(final int layer, final long nanos) {
    backward[layer][step] += nanos;
    ranBackward[layer] = true;
  }

  /** Steps recorded so far. */
  public int steps() {
    return step + 1;
  }

  /** Number of layers profiled. */
  public int layers() {
    return forward.length;
  }

  /** Whether {@code layer} ran backward in any recorded step (a frozen prefix does not). */
  public boolean ranBackward(final int layer) {
    return ranBackward[layer];
  }

  /** Milliseconds of {@code layer} in each recorded step, forward or backward. */
  public double[] millis(final int layer, final boolean inBackward) {
    final long[] nanos = (inBackward ? backward : forward)[layer];
    final double[] out = new double[steps()];
    for (int s = 0; s < out.length; s++) {
      out[s] = nanos[s] / 1e6;
    }
    return out;
  }

  /** Milliseconds of all layers together in each recorded step, forward or backward. */
  public double[] totalMillis(final boolean inBackward) {
    final long[][] nanos = inBackward ? backward : forward;
    final double[] out = new double[steps()];
    for (int s = 0; s < out.length; s++) {
      long sum = 0;
      for (final long[] layer : nanos) {
        sum += layer[s];
      }
      out[s] = sum / 1e6;
    }
    return out;
  }
}
