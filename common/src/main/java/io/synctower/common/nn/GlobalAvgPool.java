package io.synctower.common.nn;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The mean over height and width of each channel: image {@code [H, W, C]} to flat {@code [C]},
 * PyTorch's {@code AdaptiveAvgPool2d(1)} followed by {@code flatten(1)} (torchvision ResNet's
 * {@code avgpool} and the flatten before {@code fc}). Since the output has one value per channel,
 * its order is the same in PyTorch, Keras ({@code GlobalAveragePooling2D}) and here: a dense layer
 * after it takes either framework's weights without the image permutation a {@link Flatten} needs.
 *
 * <p>Forward is one libnd4j {@code reduce_mean} over the H and W axes of the NHWC input, backward
 * one {@code reduce_mean_bp} ({@code dx[n, h, w, c] = dy[n, c] / (H W)}), each writing into a
 * buffer preallocated per batch size.
 */
public final class GlobalAvgPool implements Layer {
  /** The H and W axes of an NHWC batch. */
  private static final long[] SPATIAL_AXES = {1, 2};

  private final String name;
  private final Shape in;
  private final Shape out;
  private final DataType dtype;
  private final PerBatchSize<Buffers> buffers;

  public GlobalAvgPool(final String name, final Shape in, final DataType dtype) {
    if (!in.isImage()) {
      throw new ShapeException(
          name, "globalavgpool needs an image input (C,H,W), got " + in + "; remove it or flatten");
    }
    this.name = name;
    this.in = in;
    this.out = Shape.flat(in.channels());
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

  /** Only reads dy: reduce_mean_bp takes it as an input. */
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
    final NativeOp forward = new NativeOp("reduce_mean", SPATIAL_AXES);
    final NativeOp backward = new NativeOp("reduce_mean_bp", SPATIAL_AXES);
    INDArray input;

    Buffers(final int n) {
      y = new INDArray[] {Nd4j.create(dtype, out.withBatch(n))};
      dx = new INDArray[] {Nd4j.create(dtype, in.withBatch(n))};
    }
  }
}
