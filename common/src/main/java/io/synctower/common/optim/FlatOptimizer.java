package io.synctower.common.optim;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Shared machinery for the optimizers in this package: binds one flat parameter buffer, cuts the
 * views of every {@link TrainableRanges.Range} once, owns the flat state buffers and one scratch
 * buffer, and calls {@link #update} range by range.
 *
 * <p>Memory, all allocated in the constructor: one state buffer per name in {@code stateNames},
 * each as long as {@code params} and of its data type (zeros on frozen ranges, so a checkpoint is
 * one copy per buffer); one scratch buffer of {@link TrainableRanges#trainableCount()} elements;
 * and the views of those buffers and of {@code params} per range. A gradient buffer's views are cut
 * on the first {@code step} that sees that buffer and reused while the caller keeps passing the
 * same {@code INDArray} object. After that, {@code step} allocates no buffer-sized arrays; the only
 * per-call native allocations are the one-element scalars ND4J's scalar ops ({@code muli(double)}
 * and friends) create internally.
 *
 * <p>Not thread-safe: one tower thread owns an optimizer.
 */
abstract class FlatOptimizer implements Optimizer {
  private final INDArray params;
  private final TrainableRanges ranges;
  private final INDArray[] paramViews;
  private final INDArray[] scratchViews;
  private final INDArray[][] stateViews;
  private final FlatState state;
  private INDArray boundGrads;
  private INDArray[] gradViews;

  FlatOptimizer(
      final INDArray params, final TrainableRanges ranges, final List<String> stateNames) {
    this.params = Objects.requireNonNull(params, "params");
    this.ranges = Objects.requireNonNull(ranges, "ranges");
    Objects.requireNonNull(stateNames, "stateNames");
    checkFlat("params", params);
    final long length = params.length();
    final List<TrainableRanges.Range> rs = ranges.ranges();
    if (!rs.isEmpty() && rs.get(rs.size() - 1).end() > length) {
      throw new IllegalArgumentException(
          "ranges end at "
              + rs.get(rs.size() - 1).end()
              + " but params has only "
              + length
              + " elements: build TrainableRanges from the same layer list as the buffer");
    }
    final DataType dtype = params.dataType();
    paramViews = viewsOf(params, ranges);

    final List<INDArray> buffers = new ArrayList<>(stateNames.size());
    stateViews = new INDArray[stateNames.size()][];
    for (int b = 0; b < stateNames.size(); b++) {
      final INDArray buffer = Nd4j.zeros(dtype, length);
      buffers.add(buffer);
      stateViews[b] = viewsOf(buffer, ranges);
    }
    state = new FlatState(stateNames, buffers);

    scratchViews = new INDArray[rs.size()];
    if (!rs.isEmpty()) {
      final INDArray scratch = Nd4j.zeros(dtype, ranges.trainableCount());
      long packed = 0;
      for (int r = 0; r < rs.size(); r++) {
        final long n = rs.get(r).length();
        scratchViews[r] = scratch.get(NDArrayIndex.interval(packed, packed + n));
        packed += n;
      }
    }
  }

  /**
   * Updates one trainable range in place.
   *
   * @param range index into the ranges, for {@link #stateViews(int)}
   * @param p view of the parameters (update in place)
   * @param g view of the gradient (may be overwritten)
   * @param s scratch view of the same length (contents undefined on entry and exit)
   * @param lr the step's learning rate, finite and {@code >= 0}
   * @param t the 1-based index of this update (Adam's bias correction)
   */
  abstract void update(int range, INDArray p, INDArray g, INDArray s, double lr, long t);

  /** Per-range views of state buffer {@code buffer}; the array itself, not a copy. */
  final INDArray[] stateViews(final int buffer) {
    return stateViews[buffer];
  }

  /**
   * {@inheritDoc}
   *
   * @throws IllegalArgumentException if {@code params} is not the buffer this optimizer was created
   *     with, {@code grads} is not a flat buffer of the same length and data type, or {@code lr} is
   *     negative, infinite or NaN (a NaN rate would poison every parameter)
   */
  @Override
  public final void step(final INDArray params, final INDArray grads, final double lr) {
    if (params != this.params) {
      throw new IllegalArgumentException(
          "params is not the buffer this optimizer was created with: views are bound at"
              + " construction; create a new optimizer for a new buffer");
    }
    if (!(lr >= 0.0 && lr < Double.POSITIVE_INFINITY)) {
      throw Checks.outOfRange("step", "lr", lr, "must be finite and >= 0");
    }
    if (grads != boundGrads) {
      bindGrads(grads);
    }
    final long t = state.updates() + 1;
    for (int r = 0; r < paramViews.length; r++) {
      update(r, paramViews[r], gradViews[r], scratchViews[r], lr, t);
    }
    state.setUpdates(t);
  }

  @Override
  public final OptimizerState state() {
    return state;
  }

  /** The ranges this optimizer updates. */
  public final TrainableRanges ranges() {
    return ranges;
  }

  private void bindGrads(final INDArray grads) {
    Objects.requireNonNull(grads, "grads");
    checkFlat("grads", grads);
    if (grads.length() != params.length() || grads.dataType() != params.dataType()) {
      throw new IllegalArgumentException(
          "grads must match params: grads has "
              + grads.length()
              + " x "
              + grads.dataType()
              + ", params "
              + params.length()
              + " x "
              + params.dataType());
    }
    gradViews = viewsOf(grads, ranges);
    boundGrads = grads;
  }

  private static void checkFlat(final String name, final INDArray a) {
    if (a.rank() != 1) {
      throw new IllegalArgumentException(
          name + " must be a flat 1-D buffer, got shape " + java.util.Arrays.toString(a.shape()));
    }
    if (a.dataType() != DataType.FLOAT && a.dataType() != DataType.DOUBLE) {
      throw new IllegalArgumentException(
          name + " data type " + a.dataType() + " is not supported: use FLOAT or DOUBLE");
    }
  }

  private static INDArray[] viewsOf(final INDArray flat, final TrainableRanges ranges) {
    final List<TrainableRanges.Range> rs = ranges.ranges();
    final INDArray[] views = new INDArray[rs.size()];
    for (int r = 0; r < rs.size(); r++) {
      views[r] = flat.get(NDArrayIndex.interval(rs.get(r).offset(), rs.get(r).end()));
    }
    return views;
  }

  /** Named flat buffers plus the update counter; views handed out are the live buffers. */
  private static final class FlatState implements OptimizerState {
    private final List<String> names;
    private final List<INDArray> buffers;
    private long updates;

    FlatState(final List<String> names, final List<INDArray> buffers) {
      this.names = List.copyOf(names);
      this.buffers = List.copyOf(buffers);
    }

    @Override
    public List<String> names() {
      return names;
    }

    @Override
    public List<INDArray> buffers() {
      return buffers;
    }

    @Override
    public long updates() {
      return updates;
    }

    @Override
    public void setUpdates(final long updates) {
      if (updates < 0) {
        throw Checks.outOfRange("OptimizerState", "updates", updates, "must be >= 0");
      }
      this.updates = updates;
    }
  }
}
