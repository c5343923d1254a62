package io.synctower.common.nn;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Max pooling with window {@code size} and stride {@code stride}, valid padding (a trailing row or
 * column that does not fill a window is dropped, as in Keras' default). NHWC, libnd4j's {@code
 * maxpool2d} / {@code maxpool2d_bp}.
 */
public final class MaxPool2D implements Layer {
  private final String name;
  private final Shape in;
  private final Shape out;
  private final int size;
  private final int stride;
  private final DataType dtype;
  private final PerBatchSize<Buffers> buffers;

  public MaxPool2D(
      final String name, final Shape in, final int size, final int stride, final DataType dtype) {
    if (!in.isImage()) {
      throw new ShapeException(name, "maxpool2d needs an image input (C,H,W), got " + in);
    }
    final int oh = (in.height() - size) / stride + 1;
    final int ow = (in.width() - size) / stride + 1;
    if (in.height() < size || in.width() < size) {
      throw new ShapeException(
          name,
          "pool window " + size + " is larger than its input " + in + "; remove a pooling layer");
    }
    this.name = name;
    this.in = in;
    this.out = Shape.image(oh, ow, in.channels());
    this.size = size;
    this.stride = stride;
    this.dtype = dtype;
    this.buffers = new PerBatchSize<>(Buffers::new);
  }

  private long[] integerArgs() {
    return new long[] {size, size, stride, stride, 0, 0, 1, 1, 0, 0, 1};
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
