package io.synctower.common.bn;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.api.ops.OpContext;
import org.nd4j.linalg.factory.Nd4j;

/**
 * One element-wise pass {@code z = (x - center) * scale + shift} per channel (the last axis of a
 * {@code [rows, 1, 1, C]} view), through libnd4j's {@code batchnorm} op: on the CPU backend that op
 * runs oneDNN's batch normalization (inference mode, NHWC), on CUDA its own kernel, so the same
 * code serves both backends.
 *
 * <p>The op computes {@code (x - mean) * gamma / sqrt(variance + epsilon) + beta}; it is given
 * variance 0.5 and epsilon 0.5, a divisor of exactly 1, so the scale is the caller's (computed in
 * float64 and rounded once) and no square root or epsilon is applied in float32.
 *
 * <p>Why: written as ND4J broadcast ops the same map takes two to four passes over the activations
 * (subtract, scale, multiply by gamma, add beta); this is one, measured 3-4x faster than four
 * broadcast passes on a {@code [129024, 16]} float32 matrix (0.8 vs 2.7-4 ms, one thread). Only for
 * float32: libnd4j's non-oneDNN fallback (taken for float64) is some 7x slower than the broadcast
 * ops.
 *
 * <p>The op context is built once and reused (no per-call argument parsing); inputs and the output
 * are set by reference, so the output is written in place into the caller's preallocated view. The
 * variance vector is allocated per channel count, once.
 */
final class FusedAffine {
  private static final double HALF = 0.5;

  private final DynamicCustomOp op;
  private final OpContext context;
  private INDArray half;

  FusedAffine() {
    this.op = DynamicCustomOp.builder("batchnorm").build();
    this.context = Nd4j.getExecutioner().buildContext();
    // applyScale, applyOffset, then the channel axis of the rank-4 input.
    context.setIArguments(1, 1, 3);
    context.setTArguments(HALF);
  }

  /**
   * Writes the map of {@code x} into {@code z} (both {@code [rows, 1, 1, C]} of one type; {@code
   * center}, {@code scale} and {@code shift} vectors of length C in that type).
   */
  void apply(
      final INDArray x,
      final INDArray center,
      final INDArray scale,
      final INDArray shift,
      final INDArray z) {
    final long channels = x.size(3);
    if (half == null || half.length() != channels || half.dataType() != x.dataType()) {
      half = Nd4j.valueArrayOf(new long[] {channels}, HALF, x.dataType());
    }
    context.setInputArray(0, x);
    context.setInputArray(1, center);
    context.setInputArray(2, half);
    context.setInputArray(3, scale);
    context.setInputArray(4, shift);
    context.setOutputArray(0, z);
    Nd4j.getExecutioner().exec(op, context);
  }
}
