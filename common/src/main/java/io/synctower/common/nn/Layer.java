package io.synctower.common.nn;

import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A layer with an explicit forward and backward pass over a batch in the internal layout.
 *
 * <p>The caller's loop ({@link Model}, one thread per model replica):
 *
 * <pre>{@code
 * layer.bind(values, gradients);   // once: views into the model's flat buffers
 * for each step:
 *   y  = layer.forward(x, ctx);      // x: [n, inputShape...]
 *   ...
 *   dx = layer.backward(dy, ctx);    // after forward of the same batch, same thread
 * }</pre>
 *
 * <p>Memory: the arrays returned by {@code forward} and {@code backward} are owned by the layer and
 * reused on the next call with the same batch size ({@link PerBatchSize}: created on the first call
 * with a batch size, then reused), so the steady state allocates no tensor buffers in Java. It is
 * not allocation-free: calls create small JVM objects (argument arrays; ReLU's backward builds its
 * element-wise op object each call), and native ops may allocate temporaries inside libnd4j or
 * oneDNN (convolution's backward does; see {@code io.synctower.common.backend.NativeMemoryReuse}).
 * The caller must not keep the returned arrays across steps. {@code backward} may overwrite {@code
 * dy} (it belongs to the next layer and is dead afterwards). {@code x} must stay unchanged between
 * {@code forward} and {@code backward} (it is the previous layer's output buffer). Parameter
 * gradients are written (not accumulated) into the bound gradient views.
 */
public interface Layer {
  /** Unique name, used as the key prefix in weight files ({@code <name>.weight}). */
  String name();

  /** Per-sample input shape. */
  Shape inputShape();

  /** Per-sample output shape. */
  Shape outputShape();

  /** The tensors this layer owns, in layout order; empty for parameter-free layers. */
  default List<ParamSpec> tensors() {
    return List.of();
  }

  /**
   * Receives views of its tensors, in the order of {@link #tensors()}: for each spec, the value
   * view and (for parameters) the gradient view; state tensors get {@code null} gradients.
   */
  default void bind(final List<INDArray> values, final List<INDArray> gradients) {}

  /** Fan-in and fan-out for the initializers of {@code spec}. */
  default long[] fans(final ParamSpec spec) {
    return new long[] {1, 1};
  }

  /** Forward pass; see the class comment for who owns what. */
  INDArray forward(INDArray x, StepContext ctx);

  /**
   * Backward pass for the batch of the last {@code forward}; returns dL/dx. Writes parameter
   * gradients into the bound gradient views.
   */
  INDArray backward(INDArray dy, StepContext ctx);

  /**
   * Whether {@link #backward} may write into the {@code dy} it is given (the contract allows it).
   * False promises that backward only reads dy, so a caller may hand the same dy to another reader
   * ({@link ResidualJunction} gives a block's dL/dout to both branches without a copy). True by
   * default, the safe answer for a layer that does not say.
   */
  default boolean mayOverwriteGradient() {
    return true;
  }

  /**
   * Backward pass for a caller that does not need dL/dx: writes the parameter gradients like {@link
   * #backward} and nothing else is promised. {@link Model#backward} calls it for its first layer
   * that runs backward, whose input gradient nobody reads; a layer overrides it where skipping
   * dL/dx saves work ({@link Conv2D}). The default runs {@link #backward}.
   */
  default void backwardWithoutInputGradient(final INDArray dy, final StepContext ctx) {
    backward(dy, ctx);
  }

  /** Whether any of this layer's parameters are trained. */
  default boolean hasTrainableParameters() {
    for (final ParamSpec s : tensors()) {
      if (s.kind() == ParamSpec.Kind.PARAMETER && s.trainable()) {
        return true;
      }
    }
    return false;
  }
}
