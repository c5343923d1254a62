package io.synctower.common.nn;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Average pooling with window {@code size}, stride {@code stride} and {@code padding} zeros on
 * every side, PyTorch's {@code AvgPool2d(size, stride, padding)} with its defaults {@code
 * count_include_pad=True, ceil_mode=False}: every window divides by {@code size * size}, padded
 * zeros included; output {@code floor((in + 2 padding - size) / stride) + 1}. PyTorch refuses
 * {@code padding > size / 2}, and so does this layer. NHWC, libnd4j's {@code avgpool2d} / {@code
 * avgpool2d_bp} with divisor mode 1 (include padding; mode 0 would divide a border window by its
 * cells inside the image, which {@code AvgPoolTest} shows differs).
 */
public final class AvgPool2D implements Layer {
  /** libnd4j's pooling extraParam0 for average pooling: divide by kH * kW, padding included. */
  private static final int DIVISOR_INCLUDES_PADDING = 1;

  private final String name;
  private final Shape in;
  private final Shape out;
  private final int size;
  private final int stride;
  private final int padding;
  private final DataType dtype;
  private final PerBatchSize<Buffers> buffers;

  public AvgPool2D(
      final String name,
      final Shape in,
      final int size,
      final int stride,
      final int padding,
      final DataType dtype) {
    if (!in.isImage()) {
      throw new ShapeException(name, "avgpool2d needs an image input (C,H,W), got " + in);
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
    if (in.height() + 2 * padding < size || in.width() + 2 * padding < size) {
      throw new ShapeException(
          name,
          "pool window " + size + " is larger than its input " + in + "; remove a pooling layer");
    }
    this.name = name;
    this.in = in;
    this.out =
        Shape.image(
            (in.height() + 2 * padding - size) / stride + 1,
            (in.width() + 2 * padding - size) / stride + 1,
            in.channels());
    this.size = size;
    this.stride = stride;
    this.padding = padding;
    this.dtype = dtype;
    this.buffers = new PerBatchSize<>(Buffers::new);
  }

  /** libnd4j's avgpool2d(_bp): kH, kW, sH, sW, pH, pW, dH, dW, isSameMode, divisor, NHWC. */
  private long[] integerArgs() {
    return new long[] {
      size, size, stride, stride, padding, padding, 1, 1, 0, DIVISOR_INCLUDES_PADDING, 1
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

  /** Writes into a buffer owned by this layer, valid until the next forward of this batch size. */
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
    final NativeOp forward = new NativeOp("avgpool2d", integerArgs());
    final NativeOp backward = new NativeOp("avgpool2d_bp", integerArgs());
    INDArray input;

    Buffers(final int n) {
      y = new INDArray[] {Nd4j.create(dtype, out.withBatch(n))};
      dx = new INDArray[] {Nd4j.create(dtype, in.withBatch(n))};
    }
  }
}
