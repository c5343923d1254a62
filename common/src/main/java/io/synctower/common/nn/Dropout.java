package io.synctower.common.nn;

import io.synctower.common.backend.HostMemory;
import java.nio.ByteBuffer;
import java.util.SplittableRandom;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Inverted dropout (Srivastava et al. 2014): in training each value is zeroed with probability
 * {@code rate} (the Keras convention: {@code rate} is the fraction DROPPED) and the survivors are
 * scaled by {@code 1 / (1 - rate)}; inference is the identity.
 *
 * <p>The mask of a sample is a pure function of (run seed, layer, step, the sample's position in
 * the global batch), so N towers draw exactly the masks one tower would draw for the same global
 * batch, and a resumed run draws the same masks as an uninterrupted one.
 */
public final class Dropout implements Layer {
  private final String name;
  private final Shape shape;
  private final double rate;
  private final long salt;
  private final DataType dtype;
  private final PerBatchSize<Buffers> buffers;
  // Bound once: a per-step lambda or method reference on `this` would allocate.
  private final HostMemory.Writer<StepContext> maskWriter = this::fillMask;

  public Dropout(
      final String name,
      final Shape shape,
      final double rate,
      final int layerIndex,
      final DataType dtype) {
    if (!(rate >= 0 && rate < 1)) {
      throw new ShapeException(name, "dropout rate must be in [0, 1), got " + rate);
    }
    this.name = name;
    this.shape = shape;
    this.rate = rate;
    this.salt = 0x5DEECE66DL * (layerIndex + 1);
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
    if (!ctx.training() || rate == 0) {
      return x;
    }
    final Buffers b = buffers.get((int) x.size(0));
    b.mask.write(ctx, maskWriter);
    b.y.assign(x).muli(b.mask.array());
    return b.y;
  }

  @Override
  public INDArray backward(final INDArray dy, final StepContext ctx) {
    if (!ctx.training() || rate == 0) {
      return dy;
    }
    final Buffers b = buffers.get((int) dy.size(0));
    return dy.muli(b.mask.array());
  }

  private void fillMask(final ByteBuffer bytes, final INDArray mask, final StepContext ctx) {
    final int n = (int) mask.size(0);
    final int perSample = (int) shape.elementCount();
    final double keepScale = 1.0 / (1.0 - rate);
    final boolean f64 = dtype == DataType.DOUBLE;
    for (int i = 0; i < n; i++) {
      final SplittableRandom rng =
          new SplittableRandom(mix(ctx.seed(), ctx.step(), ctx.shardOffset() + i));
      for (int j = 0; j < perSample; j++) {
        final double v = rng.nextDouble() < rate ? 0.0 : keepScale;
        final int index = i * perSample + j;
        if (f64) {
          bytes.putDouble(index * 8, v);
        } else {
          bytes.putFloat(index * 4, (float) v);
        }
      }
    }
  }

  private long mix(final long seed, final long step, final long position) {
    long z = seed ^ salt;
    z = z * 0x9E3779B97F4A7C15L + step;
    z = (z ^ (z >>> 31)) * 0xBF58476D1CE4E5B9L + position;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 33);
  }

  private final class Buffers {
    final HostMemory.Bound mask;
    final INDArray y;

    Buffers(final int n) {
      mask = HostMemory.bind(Nd4j.create(dtype, shape.withBatch(n)));
      y = Nd4j.create(dtype, shape.withBatch(n));
    }
  }
}
