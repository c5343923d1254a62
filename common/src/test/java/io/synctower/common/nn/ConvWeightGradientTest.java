package io.synctower.common.nn;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A first convolution computes only its weight and bias gradients ({@link ConvWeightGradient}): the
 * same values as libnd4j's {@code conv2d_bp} (float64 to 1e-12), finite differences agree, and
 * float32 is at least as close to float64 as {@code conv2d_bp}'s float32.
 */
class ConvWeightGradientTest {
  private static final double EXACT = 1e-12;

  /** Height, width, channels, filters, kernel, stride, padding, bias, batch. */
  static Stream<Arguments> shapes() {
    return Stream.of(
        Arguments.of(6, 7, 1, 4, 3, 1, Padding.SAME, true, 3),
        Arguments.of(6, 7, 1, 4, 3, 1, Padding.VALID, true, 3),
        Arguments.of(8, 9, 3, 5, 3, 2, Padding.SAME, true, 2),
        Arguments.of(8, 10, 2, 3, 3, 2, Padding.SAME, false, 2),
        Arguments.of(9, 8, 3, 4, 3, 2, Padding.VALID, true, 2),
        Arguments.of(7, 9, 4, 3, 5, 1, Padding.SAME, true, 2),
        Arguments.of(7, 6, 1, 2, 2, 1, Padding.SAME, true, 2),
        Arguments.of(5, 6, 2, 3, 5, 3, Padding.SAME, false, 3),
        Arguments.of(4, 4, 1, 2, 3, 1, Padding.VALID, true, 1),
        // Explicit (PyTorch) padding: the ResNet stem (7x7, stride 2, padding 3), a 3x3 stride-2
        // conv with padding 1 on odd and even sizes, and padding 2 with a 3x3 kernel at stride 1.
        Arguments.of(11, 10, 3, 4, 7, 2, Padding.explicit(3), true, 2),
        Arguments.of(7, 8, 3, 4, 3, 2, Padding.explicit(1), true, 2),
        Arguments.of(6, 6, 1, 2, 3, 1, Padding.explicit(2), false, 2),
        Arguments.of(5, 7, 2, 3, 1, 2, Padding.explicit(0), true, 3));
  }

  private static Conv2D conv(
      final int h,
      final int w,
      final int c,
      final int f,
      final int k,
      final int s,
      final Padding p,
      final boolean bias,
      final DataType dtype) {
    return new Conv2D(
        "conv", Shape.image(h, w, c), f, k, s, p, bias, true, ParamSpec.Init.HE_NORMAL, dtype);
  }

  private static Model model(final Conv2D layer, final DataType dtype, final long seed) {
    final Model m = new Model(List.of(layer), dtype);
    m.initialize(7);
    m.parameters().assign(GradientCheck.random(seed, m.parameters().length()).castTo(dtype));
    return m;
  }

  /** The gradients {@link Model#backward} writes (the first layer: no dL/dx) for x and dy. */
  private static INDArray viaModel(final Model m, final INDArray x, final INDArray dy) {
    final StepContext ctx = StepContext.training(1, 0, (int) x.size(0));
    m.forward(x, ctx);
    m.gradients().assign(Double.NaN);
    m.backward(dy.dup(), ctx);
    return m.gradients().dup();
  }

  /** The gradients libnd4j's {@code conv2d_bp} writes (the layer's full backward). */
  private static INDArray viaConv2dBp(final Model m, final INDArray x, final INDArray dy) {
    final StepContext ctx = StepContext.training(1, 0, (int) x.size(0));
    m.forward(x, ctx);
    m.gradients().assign(Double.NaN);
    m.layers().get(0).backward(dy.dup(), ctx);
    return m.gradients().dup();
  }

  private static double maxRelative(final INDArray a, final INDArray reference) {
    final INDArray ad = a.castTo(DataType.DOUBLE);
    final INDArray rd = reference.castTo(DataType.DOUBLE);
    return ad.sub(rd).amaxNumber().doubleValue() / rd.amaxNumber().doubleValue();
  }

  /** {@code fast} equal to {@code reference} to {@link #EXACT}, relative to its largest value. */
  private static void assertExact(final INDArray fast, final INDArray reference) {
    final double e = maxRelative(fast, reference);
    assertTrue(e <= EXACT, "max relative difference " + e + " > " + EXACT);
  }

  @ParameterizedTest
  @MethodSource("shapes")
  void shouldMatchConv2dBpInFloat64(
      final int h,
      final int w,
      final int c,
      final int f,
      final int k,
      final int s,
      final Padding p,
      final boolean bias,
      final int n) {
    final Conv2D layer = conv(h, w, c, f, k, s, p, bias, DataType.DOUBLE);
    final Model m = model(layer, DataType.DOUBLE, 5);
    final INDArray x = GradientCheck.random(1, layer.inputShape().withBatch(n));
    final INDArray dy = GradientCheck.random(2, layer.outputShape().withBatch(n));
    final INDArray fast = viaModel(m, x, dy);
    assertTrue(layer.lastBackwardSkippedInputGradient(), "the first conv skipped dL/dx");
    final INDArray reference = viaConv2dBp(m, x, dy);
    assertFalse(layer.lastBackwardSkippedInputGradient());
    assertExact(fast, reference);
  }

  @Test
  void shouldFollowNewInputArraysAndBatchSizes() {
    // The strided source views are cached per input array: a new x (the next batch), another
    // batch size, then the first x again must each give conv2d_bp's gradients.
    final Conv2D layer = conv(7, 8, 2, 3, 3, 1, Padding.SAME, true, DataType.DOUBLE);
    final Model m = model(layer, DataType.DOUBLE, 6);
    final INDArray x1 = GradientCheck.random(11, layer.inputShape().withBatch(3));
    final INDArray x2 = GradientCheck.random(12, layer.inputShape().withBatch(3));
    final INDArray x3 = GradientCheck.random(13, layer.inputShape().withBatch(2));
    final INDArray dy3 = GradientCheck.random(14, layer.outputShape().withBatch(3));
    final INDArray dy2 = GradientCheck.random(15, layer.outputShape().withBatch(2));
    for (final INDArray[] step :
        List.of(
            new INDArray[] {x1, dy3},
            new INDArray[] {x2, dy3},
            new INDArray[] {x3, dy2},
            new INDArray[] {x1, dy3})) {
      final INDArray fast = viaModel(m, step[0], step[1]);
      final INDArray reference = viaConv2dBp(m, step[0], step[1]);
      assertExact(fast, reference);
    }
    // The same x array with new contents (a loader that refills its buffer) is read afresh.
    x1.assign(x2);
    final INDArray fast = viaModel(m, x1, dy3);
    assertExact(fast, viaConv2dBp(m, x2, dy3));
  }

  @ParameterizedTest
  @MethodSource("shapes")
  void shouldMatchFiniteDifferences(
      final int h,
      final int w,
      final int c,
      final int f,
      final int k,
      final int s,
      final Padding p,
      final boolean bias,
      final int n) {
    final Conv2D layer = conv(h, w, c, f, k, s, p, bias, DataType.DOUBLE);
    final Model m = model(layer, DataType.DOUBLE, 3);
    GradientCheck.checkModelBackward(
        m,
        GradientCheck.random(1, layer.inputShape().withBatch(n)),
        StepContext.training(11, 0, n),
        1e-6);
    assertTrue(layer.lastBackwardSkippedInputGradient());
  }

  @Test
  void shouldBeAtLeastAsAccurateAsConv2dBpInFloat32() {
    // The quick start's first layer at a smaller batch: float32 against float64 by both routes.
    final Conv2D layer64 = conv(28, 72, 1, 16, 3, 1, Padding.SAME, true, DataType.DOUBLE);
    final Conv2D layer32 = conv(28, 72, 1, 16, 3, 1, Padding.SAME, true, DataType.FLOAT);
    final Model m64 = model(layer64, DataType.DOUBLE, 5);
    final Model m32 = model(layer32, DataType.FLOAT, 5);
    final INDArray x = GradientCheck.random(1, layer64.inputShape().withBatch(16));
    final INDArray dy = GradientCheck.random(2, layer64.outputShape().withBatch(16));
    final INDArray exact = viaConv2dBp(m64, x, dy);
    final INDArray x32 = x.castTo(DataType.FLOAT);
    final INDArray dy32 = dy.castTo(DataType.FLOAT);
    final double fast = maxRelative(viaModel(m32, x32, dy32), exact);
    assertTrue(layer32.lastBackwardSkippedInputGradient());
    final double old = maxRelative(viaConv2dBp(m32, x32, dy32), exact);
    assertTrue(
        fast <= Math.max(old, 1e-6),
        "float32 max relative error " + fast + " (conv2d_bp's: " + old + ")");
  }

  @Test
  void shouldKeepConv2dBpForManyInputChannels() {
    // Measured: with 32 input channels oneDNN's conv2d_bp beats im2col + GEMM even with dL/dx.
    final Conv2D layer = conv(6, 7, 32, 4, 3, 1, Padding.SAME, true, DataType.DOUBLE);
    final Model m = model(layer, DataType.DOUBLE, 5);
    viaModel(
        m,
        GradientCheck.random(1, layer.inputShape().withBatch(2)),
        GradientCheck.random(2, layer.outputShape().withBatch(2)));
    assertFalse(layer.lastBackwardSkippedInputGradient());
  }
}
