package io.synctower.common.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Explicit (PyTorch) padding of convolutions and pooling, average pooling and global average
 * pooling against hand-computed cases with PyTorch's definitions and against closed forms.
 *
 * <p>The hand case: a 4x4 single-channel image {@code x[i][j] = 4i + j + 1} (1..16), a 3x3 window,
 * stride 2, padding 1. PyTorch's windows start at rows/columns -1 and 1, so they cover rows {@code
 * {0, 1}} and {@code {1, 2, 3}} (same for columns).
 */
class PaddingAndPoolingTest {
  private static final DataType F64 = DataType.DOUBLE;
  private static final StepContext TRAINING = StepContext.training(1, 0, 1);

  /** The 4x4 image 1..16 as NHWC {@code [1, 4, 4, 1]}, times {@code sign}. */
  private static INDArray oneToSixteen(final double sign, final DataType dtype) {
    return Nd4j.linspace(1, 16, 16, DataType.DOUBLE)
        .muli(sign)
        .reshape('c', 1, 4, 4, 1)
        .castTo(dtype);
  }

  private static double[][] plane(final INDArray nhwc) {
    final int h = (int) nhwc.size(1);
    final int w = (int) nhwc.size(2);
    final double[][] p = new double[h][w];
    for (int i = 0; i < h; i++) {
      for (int j = 0; j < w; j++) {
        p[i][j] = nhwc.getDouble(0, i, j, 0);
      }
    }
    return p;
  }

  private static void assertPlane(final double[][] expected, final INDArray actual) {
    final double[][] got = plane(actual);
    assertEquals(expected.length, got.length, "rows");
    for (int i = 0; i < expected.length; i++) {
      assertArrayEquals(expected[i], got[i], 1e-12, "row " + i);
    }
  }

  private static Model ones3x3Conv(final Padding padding) {
    final Model m =
        new Model(
            List.of(
                new Conv2D(
                    "conv",
                    Shape.image(4, 4, 1),
                    1,
                    3,
                    2,
                    padding,
                    false,
                    true,
                    ParamSpec.Init.GLOROT_UNIFORM,
                    F64)),
            F64);
    m.initialize(1);
    m.parameters().assign(1.0);
    return m;
  }

  @Test
  void explicitPaddingOneAtStrideTwoPadsSymmetricallyUnlikeSame() {
    // PyTorch: window sums over rows/cols {0,1} and {1,2,3}.
    final INDArray explicit =
        ones3x3Conv(Padding.explicit(1)).forward(oneToSixteen(1, F64), TRAINING);
    assertPlane(new double[][] {{14, 30}, {57, 99}}, explicit);
    // TensorFlow's same: output ceil(4/2) = 2 as well (for an odd kernel k with padding k/2 the
    // sizes always agree), but the one padded row/column goes at the bottom/right, so windows
    // cover rows/cols {0,1,2} and {2,3}: other values.
    final INDArray same = ones3x3Conv(Padding.SAME).forward(oneToSixteen(1, F64), TRAINING);
    assertPlane(new double[][] {{54, 45}, {72, 54}}, same);
    assertNotEquals(plane(explicit)[0][0], plane(same)[0][0]);
  }

  @ParameterizedTest
  @CsvSource({"1, 1", "2, 1", "1, 2", "3, 3"})
  void explicitPaddingEqualsValidConvolutionOfAZeroPaddedInput(final int p, final int stride) {
    final int h = 6;
    final int w = 7;
    final int k = p == 3 ? 7 : 3;
    final Shape in = Shape.image(h, w, 3);
    final Shape padded = Shape.image(h + 2 * p, w + 2 * p, 3);
    final Conv2D explicit =
        new Conv2D(
            "a", in, 4, k, stride, Padding.explicit(p), true, true, ParamSpec.Init.HE_NORMAL, F64);
    final Conv2D valid =
        new Conv2D(
            "b", padded, 4, k, stride, Padding.VALID, true, true, ParamSpec.Init.HE_NORMAL, F64);
    assertEquals(valid.outputShape(), explicit.outputShape());
    // PyTorch's size: floor((in + 2p - k) / s) + 1.
    assertEquals((h + 2 * p - k) / stride + 1, explicit.outputShape().height());
    final Model a = new Model(List.of(explicit), F64);
    final Model b = new Model(List.of(valid), F64);
    a.initialize(1);
    a.parameters().assign(GradientCheck.random(2, a.parameters().length()));
    b.parameters().assign(a.parameters());

    final INDArray x = GradientCheck.random(3, in.withBatch(2));
    final INDArray xPadded = Nd4j.zeros(F64, padded.withBatch(2));
    xPadded
        .get(
            NDArrayIndex.all(),
            NDArrayIndex.interval(p, p + h),
            NDArrayIndex.interval(p, p + w),
            NDArrayIndex.all())
        .assign(x);
    final INDArray ya = a.forward(x, TRAINING).dup();
    final INDArray yb = b.forward(xPadded, TRAINING).dup();
    assertEquals(0, ya.sub(yb).amaxNumber().doubleValue(), 1e-12);

    // Backward: the same weight gradient, and dx is the interior of the padded input's dx.
    final INDArray dy = GradientCheck.random(4, ya.shape());
    final INDArray dxa = explicit.backward(dy, TRAINING).dup();
    final INDArray dxb = valid.backward(dy, TRAINING);
    assertEquals(0, a.gradients().sub(b.gradients()).amaxNumber().doubleValue(), 1e-12);
    final INDArray dxbInterior =
        dxb.get(
            NDArrayIndex.all(),
            NDArrayIndex.interval(p, p + h),
            NDArrayIndex.interval(p, p + w),
            NDArrayIndex.all());
    assertEquals(0, dxa.sub(dxbInterior).amaxNumber().doubleValue(), 1e-12);
  }

  @Test
  void convolutionRefusesPaddingThatIsNotSmallerThanTheKernel() {
    final ShapeException e =
        assertThrows(
            ShapeException.class,
            () ->
                new Conv2D(
                    "conv",
                    Shape.image(8, 8, 1),
                    2,
                    3,
                    1,
                    Padding.explicit(3),
                    true,
                    true,
                    ParamSpec.Init.HE_NORMAL,
                    F64));
    assertTrue(
        e.getMessage().contains("padding 3") && e.getMessage().contains("0..2"), e.getMessage());
  }

  @ParameterizedTest
  @EnumSource(
      value = DataType.class,
      names = {"DOUBLE", "FLOAT"})
  void maxPoolPaddingCountsAsMinusInfinity(final DataType dtype) {
    // All values negative: had libnd4j padded with zeros, every border window would give 0.
    final MaxPool2D pool = new MaxPool2D("pool", Shape.image(4, 4, 1), 3, 2, 1, dtype);
    final INDArray y = pool.forward(oneToSixteen(-1, dtype), TRAINING);
    assertPlane(new double[][] {{-1, -2}, {-5, -6}}, y);
    // The gradient reaches each window's maximum, -1, -2, -5 and -6, never a padded cell.
    final INDArray dx = pool.backward(Nd4j.ones(dtype, 1, 2, 2, 1), TRAINING);
    assertPlane(new double[][] {{1, 1, 0, 0}, {1, 1, 0, 0}, {0, 0, 0, 0}, {0, 0, 0, 0}}, dx);
  }

  @ParameterizedTest
  @EnumSource(
      value = DataType.class,
      names = {"DOUBLE", "FLOAT"})
  void maxPoolSendsTheGradientOfATieToTheFirstMaximumInRowMajorOrder(final DataType dtype) {
    // PyTorch's CPU max_pool2d gives the top-left cell of a constant 2x2 window the gradient.
    final MaxPool2D pool = new MaxPool2D("pool", Shape.image(2, 2, 1), 2, 2, 0, dtype);
    pool.forward(Nd4j.ones(dtype, 1, 2, 2, 1), TRAINING);
    final INDArray dx = pool.backward(Nd4j.ones(dtype, 1, 1, 1, 1), TRAINING);
    assertPlane(new double[][] {{1, 0}, {0, 0}}, dx);
  }

  @Test
  void poolingRefusesPaddingOverHalfTheWindowNamingTheField() {
    final Shape in = Shape.image(8, 8, 1);
    for (final ShapeException e :
        List.of(
            assertThrows(ShapeException.class, () -> new MaxPool2D("p", in, 3, 2, 2, F64)),
            assertThrows(ShapeException.class, () -> new AvgPool2D("p", in, 3, 2, 2, F64)))) {
      assertTrue(
          e.getMessage().contains("padding 2") && e.getMessage().contains("padding 0..1"),
          e.getMessage());
    }
  }

  @ParameterizedTest
  @EnumSource(
      value = DataType.class,
      names = {"DOUBLE", "FLOAT"})
  void avgPoolCountsPaddedZerosInTheDivisor(final DataType dtype) {
    final AvgPool2D pool = new AvgPool2D("pool", Shape.image(4, 4, 1), 3, 2, 1, dtype);
    final INDArray y = pool.forward(oneToSixteen(1, dtype), TRAINING);
    // PyTorch's count_include_pad=True: every window divides by 9. (Excluding the padding would
    // give 14/4, 30/6, 57/6, 99/9.)
    final double tolerance = dtype == F64 ? 1e-12 : 1e-5;
    final double[][] expected = {{14 / 9.0, 30 / 9.0}, {57 / 9.0, 99 / 9.0}};
    for (int i = 0; i < 2; i++) {
      for (int j = 0; j < 2; j++) {
        assertEquals(expected[i][j], y.getDouble(0, i, j, 0), tolerance);
      }
    }
    // Backward of ones: each cell gets (windows covering it) / 9; rows/columns 0..3 are covered
    // by 1, 2, 1, 1 windows.
    final INDArray dx = pool.backward(Nd4j.ones(dtype, 1, 2, 2, 1), TRAINING);
    final int[] cover = {1, 2, 1, 1};
    for (int i = 0; i < 4; i++) {
      for (int j = 0; j < 4; j++) {
        assertEquals(cover[i] * cover[j] / 9.0, dx.getDouble(0, i, j, 0), tolerance);
      }
    }
  }

  @Test
  void avgPoolWithoutPaddingIsTheMeanOfEachWindow() {
    final AvgPool2D pool = new AvgPool2D("pool", Shape.image(4, 4, 1), 2, 2, 0, F64);
    assertPlane(
        new double[][] {{(1 + 2 + 5 + 6) / 4.0, (3 + 4 + 7 + 8) / 4.0}, {11.5, 13.5}},
        pool.forward(oneToSixteen(1, F64), TRAINING));
  }

  @Test
  void globalAvgPoolOfAConstantIsThatConstantAndSpreadsDyEvenly() {
    final Shape in = Shape.image(3, 5, 4);
    final GlobalAvgPool gap = new GlobalAvgPool("gap", in, F64);
    assertEquals(Shape.flat(4), gap.outputShape());
    final INDArray x = Nd4j.create(F64, in.withBatch(2));
    for (int c = 0; c < 4; c++) {
      x.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.point(c))
          .assign(c - 1.5);
    }
    x.get(NDArrayIndex.point(1)).muli(3);
    final INDArray y = gap.forward(x, TRAINING);
    for (int c = 0; c < 4; c++) {
      assertEquals(c - 1.5, y.getDouble(0, c), 1e-15);
      assertEquals(3 * (c - 1.5), y.getDouble(1, c), 1e-15);
    }
    final INDArray dy = Nd4j.create(new double[][] {{1, 2, 3, 4}, {-5, 6, -7, 8}}).castTo(F64);
    final INDArray dx = gap.backward(dy, TRAINING);
    for (int n = 0; n < 2; n++) {
      for (int h = 0; h < 3; h++) {
        for (int w = 0; w < 5; w++) {
          for (int c = 0; c < 4; c++) {
            assertEquals(dy.getDouble(n, c) / 15, dx.getDouble(n, h, w, c), 1e-15);
          }
        }
      }
    }
  }

  @Test
  void globalAvgPoolAveragesEachChannelOverHeightAndWidth() {
    // Channel c of pixel (h, w) holds 100 c + 10 h + w: the mean is 100 c + 10 mean(h) + mean(w).
    final int hh = 2;
    final int ww = 3;
    final INDArray x = Nd4j.create(F64, 1, hh, ww, 2);
    for (int h = 0; h < hh; h++) {
      for (int w = 0; w < ww; w++) {
        for (int c = 0; c < 2; c++) {
          x.putScalar(new long[] {0, h, w, c}, 100 * c + 10 * h + w);
        }
      }
    }
    final GlobalAvgPool gap = new GlobalAvgPool("gap", Shape.image(hh, ww, 2), F64);
    final INDArray y = gap.forward(x, TRAINING);
    assertEquals(10 * 0.5 + 1, y.getDouble(0, 0), 1e-12);
    assertEquals(100 + 10 * 0.5 + 1, y.getDouble(0, 1), 1e-12);
  }

  @Test
  void globalAvgPoolReusesItsBuffersStepAfterStep() {
    final Shape in = Shape.image(4, 4, 3);
    final GlobalAvgPool gap = new GlobalAvgPool("gap", in, F64);
    final INDArray x = GradientCheck.random(1, in.withBatch(2));
    final INDArray y1 = gap.forward(x, TRAINING);
    final INDArray dx1 = gap.backward(Nd4j.ones(F64, 2, 3), TRAINING);
    assertSame(y1, gap.forward(x, TRAINING));
    assertSame(dx1, gap.backward(Nd4j.ones(F64, 2, 3), TRAINING));
  }

  @Test
  void globalAvgPoolNeedsAnImage() {
    final ShapeException e =
        assertThrows(ShapeException.class, () -> new GlobalAvgPool("gap", Shape.flat(8), F64));
    assertTrue(e.getMessage().contains("image"), e.getMessage());
  }
}
