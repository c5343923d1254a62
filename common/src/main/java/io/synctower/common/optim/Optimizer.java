package io.synctower.common.optim;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * An update rule over one flat parameter buffer.
 *
 * <p>The caller's loop (every tower, after the gradient all-reduce):
 *
 * <pre>{@code
 * Optimizer opt = OptimizerSpec.adam(1e-3).create(params);   // allocates its state once
 * for (long step = 0; ; step++) {
 *   ... forward, backward, all-reduce grads ...
 *   opt.step(params, grads, schedule.learningRate(step));
 * }
 * }</pre>
 *
 * <p>Memory: {@code params} and {@code grads} are the model's flat buffers (1-D, same length and
 * data type). {@code step} updates {@code params} in place and may use {@code grads} as scratch (it
 * may overwrite it); it allocates nothing after construction. Optimizer state (momentum, moments,
 * accumulators) lives in flat buffers of the same length, exposed by {@link #state()} for
 * checkpoints and replica hashing.
 *
 * <p>Only the parameter ranges the optimizer was built with are touched; frozen layers' ranges are
 * skipped entirely (no weight decay, no momentum drift).
 */
public interface Optimizer {
  /**
   * Applies one update with learning rate {@code lr} to every trainable range of {@code params}.
   */
  void step(INDArray params, INDArray grads, double lr);

  /**
   * The optimizer's state buffers, in a fixed order (views, not copies), plus the step counter
   * where the rule needs one (Adam's bias correction). Writing into the returned arrays restores
   * state.
   */
  OptimizerState state();
}
