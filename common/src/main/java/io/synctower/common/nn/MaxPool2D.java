package io.synctower.common.nn;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Max pooling with window {@code size}, stride {@code stride} and {@code padding} cells on every
 * side, PyTorch's {@code MaxPool2d(size, stride, padding)}: padded cells count as minus infinity,
 * so they never win; output {@code floor((in + 2 padding - size) / stride) + 1} (a trailing row or
 * column that does not fill a window is dropped; padding 0 is Keras' {@code valid}). PyTorch
 * refuses {@code padding > size / 2}, and so does this layer. NHWC, libnd4j's {@code maxpool2d} /
 * {@code maxpool2d_bp}, which skip the padded cells ({@code MaxPoolTest} checks it on an all
 * negative input). Backward routes each output's gradient to the first maximum of its window in
 * row-major order (a tie goes to the top-left cell), as libnd4j and PyTorch's CPU kernel do.
 */
public final class MaxPool2D implements Layer {
  private final String name;
  private final Shape in;
  private final Shape out;
  private final int size;
  private final int stride;
  private final int padding;
  private final DataType dtype;
  private final PerBatchSize<Buffers> buffers;

  /** Without padding (Keras' {@code valid}). */
  public MaxPool2D(
      final String name, final Shape in, final int size, final int stride, final DataType dtype) {
    this(name, in, size, stride, 0, dtype);
  }

  public MaxPool2D(
      final String name,
      final Shape in,
      final int size,
      final int stride,
      final int padding,
      final DataType dtype) {
    if (!in.isImage()) {
      throw new ShapeException(name, "maxpool2d needs an image input (C,H,W), got " + in);
    }
    if (padding < 0 || padding > size / 2) {
      throw new ShapeException(
          name,
          "padding "
              + padding
              + " is more than half the pool size "
              + size
              + "; use padding 0.."
              + size / 2
              + " (PyTorch's limit: a window could then hold only padding)");
    }
    final int oh = (in.height() + 2 * padding - size) / stride + 1;
    final int ow = (in.width() + 2 * padding - size) / stride + 1;
    if (in.height() + 2 * padding < size || in.width() + 2 * padding < size) {
      throw new ShapeException(
          name,
          "pool window " + size + " is larger than its input " + in + "; remove a pooling layer");
    }
    this.name = name;
    this.in = in;
    this.out = Shape.image(oh, ow, in.channels());
    this.size = size;
    this.stride = stride;
    this.padding = padding;
    this.dtype = dtype;
    this.buffers = new PerBatchSize<>(Buffers::new);
  }

  /** libnd4j's maxpool2d(_bp): kH, kW, sH, sW, pH, pW, dH, dW, isSameMode, unused, NHWC. */
  private long[] integerArgs() {
    return new long[] {size, size, stride, stride, padding, padding, 1, 1, 0, 0, 1};
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
    final Buffers b = buffers.get((int) x.size(0));
    b.input = x;
    b.forward.exec(new INDArray[] {x}, b.y);
    return b.y[0];
  }

  @Override
  public INDArray backward(final INDArray dy, final StepContext ctx) {
    final Buffers b = buffers.get((int) dy.size(0));
    b.backward.exec(new INDArray[] {b.input, dy}, b.dx);
    return b.dx[0];
  }

  private final class Buffers {
    final INDArray[] y;
    final INDArray[] dx;
    final NativeOp forward = new NativeOp("maxpool2d", integerArgs());
    final NativeOp backward = new NativeOp("maxpool2d_bp", integerArgs());
    INDArray input;

    Buffers(final int n) {
      y = new INDArray[] {Nd4j.create(dtype, out.withBatch(n))};
      dx = new INDArray[] {Nd4j.create(dtype, in.withBatch(n))};
    }
  }
}
