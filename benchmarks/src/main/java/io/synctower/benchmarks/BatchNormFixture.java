package io.synctower.benchmarks;

import io.synctower.common.bn.BatchNorm;
import io.synctower.common.nn.Model;
import io.synctower.common.nn.Shape;
import io.synctower.common.nn.StepContext;
import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * One float32 BN layer with its input and upstream gradient, bound inside a one-layer {@link Model}
 * so that its parameters, gradients and union-statistics buffer are the model's flat buffers, as in
 * training. Allocates everything in the constructor; the calls allocate only what ND4J's op
 * dispatch does.
 */
final class BatchNormFixture {
  private final Model model;
  private final BatchNorm bn;
  private final INDArray x;
  private final INDArray upstream;
  private final INDArray dy;

  /**
   * @param batch samples in this tower's shard
   * @param sample one sample's shape, {@code [H, W, C]} (NHWC inside SyncTower)
   * @param trainable false for a frozen layer
   * @param seed input and gradient values (normal, so the statistics are non-trivial)
   */
  BatchNormFixture(final int batch, final Shape sample, final boolean trainable, final long seed) {
    bn = new BatchNorm("bn", sample, 0.99, 1e-3, trainable, DataType.FLOAT);
    model = new Model(List.of(bn), DataType.FLOAT);
    model.initialize(seed);
    Nd4j.getRandom().setSeed(seed);
    x = Nd4j.randn(DataType.FLOAT, sample.withBatch(batch)).muli(2).addi(0.5);
    upstream = Nd4j.randn(DataType.FLOAT, sample.withBatch(batch));
    dy = upstream.dup();
  }

  /**
   * A training step's BN work: forward, then backward from a fresh copy of the upstream gradient
   * (backward scales its {@code dy} in place; in a step the next layer writes it anew, here the
   * copy does, and is included in the time). The union-statistics buffer is zeroed first, as {@link
   * Model#forward} does. Returns dL/dx (layer-owned, reused).
   */
  INDArray forwardBackward(final StepContext ctx) {
    model.unionStatistics().assign(0);
    bn.forward(x, ctx);
    dy.assign(upstream);
    return bn.backward(dy, ctx);
  }

  /** Inference forward (moving statistics; no gradient flows in inference). */
  INDArray forward(final StepContext ctx) {
    return bn.forward(x, ctx);
  }

  /**
   * Parses {@code "64x14x36x32"} (batch x H x W x C, NHWC) into the batch and the sample shape.
   *
   * @throws IllegalArgumentException naming the value and the expected form
   */
  static int[] parseShape(final String nhwc) {
    final String[] parts = nhwc.trim().split("x");
    if (parts.length != 4) {
      throw new IllegalArgumentException(
          "shape '"
              + nhwc
              + "': expected NxHxWxC (batch, height, width, channels), e.g. 64x14x36x32");
    }
    final int[] dims = new int[4];
    for (int i = 0; i < 4; i++) {
      try {
        dims[i] = Integer.parseInt(parts[i]);
      } catch (NumberFormatException e) {
        dims[i] = -1;
      }
      if (dims[i] < 1) {
        throw new IllegalArgumentException(
            "shape '" + nhwc + "': '" + parts[i] + "' is not a positive integer; expected NxHxWxC");
      }
    }
    return dims;
  }
}
