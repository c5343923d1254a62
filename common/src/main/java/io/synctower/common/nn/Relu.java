package io.synctower.common.nn;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Rectified linear unit {@code max(x, 0)}; the gradient at exactly 0 is taken as 0. */
public final class Relu implements Layer {
  private final String name;
  private final Shape shape;
  private final DataType dtype;
  private final PerBatchSize<Buffers> buffers;

  public Relu(final String name, final Shape shape, final DataType dtype) {
    this.name = name;
    this.shape = shape;
    this.dtype = dtype;
    this.buffers = new PerBatchSize<>(Buffers::new);
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public Shape inputShape() {
    return shape;
  }

  @Override
  public Shape outputShape() {
    return shape;
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
    final NativeOp forward = new NativeOp("relu", new long[0], 0.0);
    final NativeOp backward = new NativeOp("relu_bp", new long[0], 0.0);
    INDArray input;

    Buffers(final int n) {
      y = new INDArray[] {Nd4j.create(dtype, shape.withBatch(n))};
      dx = new INDArray[] {Nd4j.create(dtype, shape.withBatch(n))};
    }
  }
}
