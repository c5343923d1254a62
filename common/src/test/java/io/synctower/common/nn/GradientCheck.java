package io.synctower.common.nn;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.SplittableRandom;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Central finite differences in float64 against a layer's analytic backward. The scalar loss is
 * {@code L = sum(R * forward(x))} with a fixed random projection R, so dL/dy = R.
 */
public final class GradientCheck {
  private static final double STEP = 1e-6;

  private GradientCheck() {}

  /** Random float64 array with values in (-1, 1) from {@code seed}. */
  public static INDArray random(final long seed, final long... shape) {
    final INDArray a = Nd4j.create(DataType.DOUBLE, shape);
    final SplittableRandom rng = new SplittableRandom(seed);
    final double[] v = new double[(int) a.length()];
    for (int i = 0; i < v.length; i++) {
      v[i] = 2 * rng.nextDouble() - 1;
    }
    Vectors.write(v, a.reshape(a.length()));
    return a;
  }

  /** Relative error {@code ||a - b|| / max(||a|| + ||b||, tiny)}. */
  public static double relativeError(final INDArray analytic, final INDArray numeric) {
    final INDArray a = analytic.reshape(analytic.length());
    final INDArray b = numeric.reshape(numeric.length());
    final double diff = a.sub(b).norm2Number().doubleValue();
    final double scale = a.norm2Number().doubleValue() + b.norm2Number().doubleValue();
    return scale < 1e-12 ? diff : diff / scale;
  }

  /**
   * Checks dL/dx and dL/dθ of the single-layer model against finite differences; asserts the
   * relative error of each is at most {@code tolerance}. Returns the worst relative error.
   */
  public static double check(
      final Model model, final INDArray x, final StepContext ctx, final double tolerance) {
    return check(model, x, ctx, tolerance, true);
  }

  /** As {@link #check(Model, INDArray, StepContext, double)}, optionally for dL/dx only. */
  public static double check(
      final Model model,
      final INDArray x,
      final StepContext ctx,
      final double tolerance,
      final boolean parameters) {
    final INDArray projection = random(99, model.forward(x, ctx).shape());
    final double loss0 = loss(model, x, ctx, projection);
    final INDArray dx = model.layers().get(0).backward(projection.dup(), ctx).dup();
    final INDArray analyticParams = model.gradients().dup();
    double worst = 0;

    final INDArray numericX = numeric(model, x, x, ctx, projection);
    final double ex = relativeError(dx, numericX);
    assertTrue(ex <= tolerance, "dL/dx relative error " + ex + " > " + tolerance);
    worst = Math.max(worst, ex);

    final List<Model.Tensor> tensors = parameters ? model.tensors() : List.of();
    for (final Model.Tensor t : tensors) {
      if (t.spec().kind() != ParamSpec.Kind.PARAMETER) {
        continue;
      }
      final INDArray numericT = numeric(model, x, t.flat(), ctx, projection);
      final INDArray analyticT = slice(model, analyticParams, t);
      if (!t.spec().trainable()) {
        continue;
      }
      final double e = relativeError(analyticT, numericT);
      assertTrue(e <= tolerance, "dL/d(" + t.key() + ") relative error " + e + " > " + tolerance);
      worst = Math.max(worst, e);
    }
    assertTrue(Double.isFinite(loss0));
    return worst;
  }

  /**
   * Checks the trainable parameters' gradients that {@link Model#backward} writes (the path a
   * training step runs, where the first layer computes no dL/dx) against finite differences;
   * asserts each relative error is at most {@code tolerance} and returns the worst.
   */
  public static double checkModelBackward(
      final Model model, final INDArray x, final StepContext ctx, final double tolerance) {
    final INDArray projection = random(99, model.forward(x, ctx).shape());
    model.backward(projection.dup(), ctx);
    final INDArray analyticParams = model.gradients().dup();
    double worst = 0;
    for (final Model.Tensor t : model.tensors()) {
      if (t.spec().kind() != ParamSpec.Kind.PARAMETER || !t.spec().trainable()) {
        continue;
      }
      final INDArray numericT = numeric(model, x, t.flat(), ctx, projection);
      final double e = relativeError(slice(model, analyticParams, t), numericT);
      assertTrue(e <= tolerance, "dL/d(" + t.key() + ") relative error " + e + " > " + tolerance);
      worst = Math.max(worst, e);
    }
    return worst;
  }

  private static INDArray slice(final Model model, final INDArray grads, final Model.Tensor t) {
    long offset = 0;
    for (final Model.Tensor other : model.tensors()) {
      if (other == t) {
        break;
      }
      if (other.spec().kind() == ParamSpec.Kind.PARAMETER) {
        offset += other.spec().length();
      }
    }
    return grads.get(
        org.nd4j.linalg.indexing.NDArrayIndex.interval(offset, offset + t.spec().length()));
  }

  private static INDArray numeric(
      final Model model,
      final INDArray x,
      final INDArray target,
      final StepContext ctx,
      final INDArray projection) {
    final INDArray flat = target.reshape(target.length());
    final INDArray result = Nd4j.create(DataType.DOUBLE, target.length());
    for (long i = 0; i < target.length(); i++) {
      final double original = flat.getDouble(i);
      flat.putScalar(i, original + STEP);
      final double plus = loss(model, x, ctx, projection);
      flat.putScalar(i, original - STEP);
      final double minus = loss(model, x, ctx, projection);
      flat.putScalar(i, original);
      result.putScalar(i, (plus - minus) / (2 * STEP));
    }
    return result;
  }

  private static double loss(
      final Model model, final INDArray x, final StepContext ctx, final INDArray projection) {
    return model.forward(x, ctx).mul(projection).sumNumber().doubleValue();
  }
}
