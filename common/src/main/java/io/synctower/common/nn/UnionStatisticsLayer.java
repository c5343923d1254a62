package io.synctower.common.nn;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A layer whose moving statistics are updated inside the training step from the union of every
 * tower's batch statistics: batch norm ({@code io.synctower.common.bn.BatchNorm}), the one such
 * layer today. {@link Model} drives these calls; this package knows the contract, not the layer.
 *
 * <p>The caller's loop ({@link Model}, on the tower's own thread):
 *
 * <pre>{@code
 * layer.bindUnionPartials(slice);       // once, at model construction: a view of unionStatistics()
 * // every training step:
 * layer.forward(x, ctx);                // adds this tower's float64 partials into the slice
 * collective.sum(gradients, unionStatistics);   // the step reduces the slice over all towers
 * layer.applyMovingStatistics();        // the update ops, before the optimizer, same on every tower
 * }</pre>
 *
 * <p>A tower without samples in a step calls {@link #joinForwardWithoutSamples} and {@link
 * #joinBackwardWithoutSamples} instead of forward and backward, so the sync group's collectives
 * still match.
 */
public interface UnionStatisticsLayer extends Layer {
  /** Length of this layer's float64 partials in the model's union-statistics buffer. */
  int partialsLength();

  /**
   * Binds this layer's slice of the model's union-statistics buffer (a view, float64, length {@link
   * #partialsLength()}; the layer keeps the reference). The model zeroes it before each training
   * forward.
   */
  void bindUnionPartials(INDArray slice);

  /** The forward collectives of a training step in which this tower has no samples. */
  void joinForwardWithoutSamples(StepContext ctx);

  /** The backward collectives of a training step in which this tower has no samples. */
  void joinBackwardWithoutSamples(StepContext ctx);

  /** Folds the (reduced) union partials into the moving statistics: the update ops. */
  void applyMovingStatistics();

  /** Replaces the moving statistics by those of the union partials (precise BN's last step). */
  void replaceMovingStatistics();
}
