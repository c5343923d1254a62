package io.synctower.common.nn;

import java.util.ArrayList;
import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * 2-D convolution, stride s, padding {@code valid}, {@code same} or explicit (PyTorch's {@code
 * padding=p}: p zeros on every side, output {@code floor((in + 2p - k) / s) + 1}; see {@link
 * Padding}), optional bias.
 *
 * <p>Layout: activations NHWC, weights {@code [kH, kW, in, out]} (libnd4j wFormat 0). This is the
 * fastest layout measured for the oneDNN builds (README "Performance"); PyTorch's {@code [out, in,
 * kH, kW]} is converted once at weight import and export. Runs libnd4j's {@code conv2d} and {@code
 * conv2d_bp}; {@code conv2d_bp} writes the weight and bias gradients straight into the flat
 * gradient buffer's views. As the model's first layer that runs backward, with at most {@link
 * ConvWeightGradient#MAX_CHANNELS} input channels, it computes only the weight and bias gradients
 * ({@link ConvWeightGradient}): {@code conv2d_bp} would also compute dL/dx, which for few channels
 * costs several times more than the weight gradient.
 */
public final class Conv2D implements Layer {
  private final String name;
  private final Shape in;
  private final Shape out;
  private final int kernel;
  private final int stride;
  private final Padding padding;
  private final boolean bias;
  private final boolean trainable;
  private final ParamSpec.Init init;
  private final DataType dtype;
  private final PerBatchSize<Buffers> buffers;
  // Null where conv2d_bp is the faster route even without dL/dx (many input channels).
  private final ConvWeightGradient weightGradientOnly;
  // What the last backward ran, for the profile's op table.
  private boolean lastBackwardSkippedInputGradient;
  private INDArray weight;
  private INDArray biasValues;
  private INDArray weightGrad;
  private INDArray biasGrad;

  public Conv2D(
      final String name,
      final Shape in,
      final int filters,
      final int kernel,
      final int stride,
      final Padding padding,
      final boolean bias,
      final boolean trainable,
      final ParamSpec.Init init,
      final DataType dtype) {
    if (!in.isImage()) {
      throw new ShapeException(name, "conv2d needs an image input (C,H,W), got " + in);
    }
    this.name = name;
    this.in = in;
    this.kernel = kernel;
    this.stride = stride;
    if (padding.size() >= kernel) {
      // PyTorch allows it, but every output row of such a border reads only zeros: a mistake.
      throw new ShapeException(
          name,
          "padding "
              + padding
              + " is not smaller than kernel "
              + kernel
              + "; use padding 0.."
              + (kernel - 1)
              + " (kernel / 2 keeps the size at stride 1)");
    }
    this.padding = padding;
    this.bias = bias;
    this.trainable = trainable;
    this.init = init;
    this.dtype = dtype;
    final int oh = outputSize(in.height());
    final int ow = outputSize(in.width());
    if (oh <= 0 || ow <= 0) {
      throw new ShapeException(
          name,
          "kernel "
              + kernel
              + " with padding "
              + padding
              + " does not fit input "
              + in
              + "; use padding: same, a smaller kernel, or fewer pooling layers before it");
    }
    this.out = Shape.image(oh, ow, filters);
    this.buffers = new PerBatchSize<>(Buffers::new);
    this.weightGradientOnly =
        in.channels() <= ConvWeightGradient.MAX_CHANNELS
            ? new ConvWeightGradient(in, out, kernel, stride, padding, bias, dtype)
            : null;
  }

  private int outputSize(final int size) {
    if (padding == Padding.SAME) {
      return (size + stride - 1) / stride;
    }
    // Valid: size 0. Floor division: a negative numerator (kernel larger than the padded input)
    // gives <= 0, which the constructor refuses.
    return Math.floorDiv(size + 2 * padding.size() - kernel, stride) + 1;
  }

  /** libnd4j's conv2d/conv2d_bp: kH, kW, sH, sW, pH, pW, dH, dW, isSameMode, NHWC, wFormat. */
  private long[] integerArgs() {
    final int p = padding.size();
    return new long[] {
      kernel, kernel, stride, stride, p, p, 1, 1, padding == Padding.SAME ? 1 : 0, 1, 0
    };
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
  public List<ParamSpec> tensors() {
    final List<ParamSpec> specs = new ArrayList<>();
    specs.add(
        new ParamSpec(
            "weight",
            new long[] {kernel, kernel, in.channels(), out.channels()},
            ParamSpec.Kind.PARAMETER,
            trainable,
            init));
    if (bias) {
      specs.add(
          new ParamSpec(
              "bias",
              new long[] {out.channels()},
              ParamSpec.Kind.PARAMETER,
              trainable,
              ParamSpec.Init.ZEROS));
    }
    return specs;
  }

  @Override
  public long[] fans(final ParamSpec spec) {
    final long area = (long) kernel * kernel;
    return new long[] {area * in.channels(), area * out.channels()};
  }

  @Override
  public void bind(final List<INDArray> values, final List<INDArray> gradients) {
    weight = values.get(0);
    weightGrad = gradients.get(0);
    if (bias) {
      biasValues = values.get(1);
      biasGrad = gradients.get(1);
    }
  }

  @Override
  public INDArray forward(final INDArray x, final StepContext ctx) {
    final Buffers b = buffers.get((int) x.size(0));
    b.input = x;
    b.forward.exec(bias ? new INDArray[] {x, weight, biasValues} : new INDArray[] {x, weight}, b.y);
    return b.y[0];
  }

  /** Only reads dy: conv2d_bp (or the weight-gradient GEMM) takes it as an input. */
  @Override
  public boolean mayOverwriteGradient() {
    return false;
  }

  @Override
  public INDArray backward(final INDArray dy, final StepContext ctx) {
    final Buffers b = buffers.get((int) dy.size(0));
    if (bias) {
      b.backward.exec(
          new INDArray[] {b.input, weight, biasValues, dy},
          new INDArray[] {b.dx, weightGrad, biasGrad});
    } else {
      b.backward.exec(new INDArray[] {b.input, weight, dy}, new INDArray[] {b.dx, weightGrad});
    }
    lastBackwardSkippedInputGradient = false;
    return b.dx;
  }

  @Override
  public void backwardWithoutInputGradient(final INDArray dy, final StepContext ctx) {
    if (weightGradientOnly == null) {
      backward(dy, ctx);
      return;
    }
    final Buffers b = buffers.get((int) dy.size(0));
    weightGradientOnly.compute(b.input, dy, weightGrad, biasGrad);
    lastBackwardSkippedInputGradient = true;
  }

  /**
   * Whether the last backward computed only the parameter gradients ({@link ConvWeightGradient})
   * rather than running {@code conv2d_bp}; for the profile's op table.
   */
  boolean lastBackwardSkippedInputGradient() {
    return lastBackwardSkippedInputGradient;
  }

  /** Preallocated output and input-gradient buffers for one batch size. */
  private final class Buffers {
    final INDArray[] y;
    final INDArray dx;
    final NativeOp forward = new NativeOp("conv2d", integerArgs());
    final NativeOp backward = new NativeOp("conv2d_bp", integerArgs());
    INDArray input;

    Buffers(final int n) {
      y = new INDArray[] {Nd4j.create(dtype, out.withBatch(n))};
      dx = Nd4j.create(dtype, in.withBatch(n));
    }
  }
}
