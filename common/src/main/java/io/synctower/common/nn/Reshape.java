package io.synctower.common.nn;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Reinterprets a flat vector as another shape of the same size, e.g. 248 logits as 4 positions x 62
 * classes for a captcha. A view: nothing is copied.
 */
public final class Reshape implements Layer {
  private final String name;
  private final Shape in;
  private final Shape out;

  public Reshape(final String name, final Shape in, final Shape out) {
    if (in.elementCount() != out.elementCount()) {
      throw new ShapeException(
          name,
          "cannot reshape "
              + in
              + " ("
              + in.elementCount()
              + " values) to "
              + out
              + " ("
              + out.elementCount()
              + " values); make the previous layer produce "
              + out.elementCount()
              + " values");
    }
    this.name = name;
    this.in = in;
    this.out = out;
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public Shape inputShape() {
    return in;
  }

  @Override
  public Shape outputShape() {
    return out;
  }

  @Override
  public INDArray forward(final INDArray x, final StepContext ctx) {
    return x.reshape('c', out.withBatch(x.size(0)));
  }

  /** Only reads dy: a view of dy for the next layer (which says for itself). */
  @Override
  public boolean mayOverwriteGradient() {
    return false;
  }

  @Override
  public INDArray backward(final INDArray dy, final StepContext ctx) {
    return dy.reshape('c', in.withBatch(dy.size(0)));
  }
}
