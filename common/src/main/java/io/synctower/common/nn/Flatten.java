package io.synctower.common.nn;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Flattens an image to a vector in (C, H, W) order, the order PyTorch's {@code flatten} uses, so a
 * dense layer after it takes PyTorch weights unchanged. Internally activations are NHWC, so this is
 * the one place a transpose happens (one copy of a small tensor per step). A flat input passes
 * through untouched.
 */
public final class Flatten implements Layer {
  private final String name;
  private final Shape in;
  private final Shape out;
  private final DataType dtype;
  private final PerBatchSize<Buffers> buffers;

  public Flatten(final String name, final Shape in, final DataType dtype) {
    this.name = name;
    this.in = in;
    // Exact: a wrapped product cast to int would give a wrong, possibly plausible width.
    long count = 1;
    for (final int d : in.dims()) {
      count = d > 0 && count <= Integer.MAX_VALUE ? count * d : Long.MAX_VALUE;
    }
    if (count > Integer.MAX_VALUE) {
      throw new ShapeException(
          name,
          "flattening "
              + in
              + " gives more than "
              + Integer.MAX_VALUE
              + " values per sample; add pooling or strides before it");
    }
    this.out = Shape.flat((int) count);
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

  @Override
  public INDArray forward(final INDArray x, final StepContext ctx) {
    if (!in.isImage()) {
      return x.reshape('c', out.withBatch(x.size(0)));
    }
    final Buffers b = buffers.get((int) x.size(0));
    b.nchw.assign(x.permute(0, 3, 1, 2));
    return b.flat;
  }

  /** Only reads dy: a copy from dy, or a view of it for the next layer (which says for itself). */
  @Override
  public boolean mayOverwriteGradient() {
    return false;
  }

  @Override
  public INDArray backward(final INDArray dy, final StepContext ctx) {
    if (!in.isImage()) {
      return dy.reshape('c', in.withBatch(dy.size(0)));
    }
    final Buffers b = buffers.get((int) dy.size(0));
    b.dx.assign(dy.reshape('c', b.nchw.shape()).permute(0, 2, 3, 1));
    return b.dx;
  }

  private final class Buffers {
    final INDArray nchw;
    final INDArray flat;
    final INDArray dx;

    Buffers(final int n) {
      nchw = Nd4j.create(dtype, n, in.channels(), in.height(), in.width());
      flat = nchw.reshape('c', n, out.last());
      dx = Nd4j.create(dtype, in.withBatch(n));
    }
  }
}
