package io.synctower.common.nn;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * What {@link MaxPool2D} and {@link AvgPool2D} share: a square window {@code size}, stride {@code
 * stride} and {@code padding} cells on every side (PyTorch's, at most {@code size / 2}), output
 * {@code floor((in + 2 padding - size) / stride) + 1}, NHWC, one libnd4j op each way ({@code <op>}
 * and {@code <op>_bp}) into buffers owned per batch size. The subclasses differ only in the op and
 * its mode argument.
 */
abstract sealed class Pool2D implements Layer permits MaxPool2D, AvgPool2D {
  private final String name;
  private final Shape in;
  private final Shape out;
  private final String op;
  private final long[] integerArgs;
  private final DataType dtype;
  private final PerBatchSize<Buffers> buffers;

  /**
   * @param op libnd4j's op ({@code maxpool2d}, {@code avgpool2d}), also the config type in messages
   * @param mode libnd4j's extraParam0 (the average's divisor mode; unused by max pooling)
   */
  Pool2D(
      final String op,
      final int mode,
      final String name,
      final Shape in,
      final int size,
      final int stride,
      final int padding,
      final DataType dtype) {
    if (!in.isImage()) {
      throw new ShapeException(name, op + " needs an image input (C,H,W), got " + in);
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
    this.op = op;
    // kH, kW, sH, sW, pH, pW, dH, dW, isSameMode, extraParam0, NHWC
    this.integerArgs = new long[] {size, size, stride, stride, padding, padding, 1, 1, 0, mode, 1};
    this.dtype = dtype;
    this.buffers = new PerBatchSize<>(Buffers::new);
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

  /** Only reads dy: the pooling _bp op takes it as an input. */
  @Override
  public boolean mayOverwriteGradient() {
    return false;
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
    final NativeOp forward = new NativeOp(op, integerArgs);
    final NativeOp backward = new NativeOp(op + "_bp", integerArgs);
    INDArray input;

    Buffers(final int n) {
      y = new INDArray[] {Nd4j.create(dtype, out.withBatch(n))};
      dx = new INDArray[] {Nd4j.create(dtype, in.withBatch(n))};
    }
  }
}
