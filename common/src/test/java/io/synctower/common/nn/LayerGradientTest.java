package io.synctower.common.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.synctower.common.bn.BatchNorm;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Every layer's backward against float64 central finite differences (relative error 1e-6). */
class LayerGradientTest {
  private static final DataType F64 = DataType.DOUBLE;
  private static final double TOLERANCE = 1e-6;

  private static Model single(final Layer layer) {
    final Model model = new Model(List.of(layer), F64);
    model.initialize(7);
    // Non-trivial parameters everywhere (biases and BN gamma/beta start at 0/1 otherwise).
    model.parameters().assign(GradientCheck.random(3, model.parameters().length()));
    model.state().addi(0.25);
    return model;
  }

  private static StepContext training(final int n) {
    return StepContext.training(11, 0, n);
  }

  @ParameterizedTest
  @EnumSource(Padding.Mode.class)
  void shouldMatchFiniteDifferencesForConvolution(final Padding.Mode mode) {
    final Padding padding =
        switch (mode) {
          case VALID -> Padding.VALID;
          case SAME -> Padding.SAME;
          case EXPLICIT -> Padding.explicit(2);
        };
    final Shape in = Shape.image(6, 7, 3);
    final Model m =
        single(new Conv2D("conv", in, 4, 3, 1, padding, true, true, ParamSpec.Init.HE_NORMAL, F64));
    GradientCheck.check(m, GradientCheck.random(1, in.withBatch(2)), training(2), TOLERANCE);
  }

  @Test
  void shouldMatchFiniteDifferencesForStridedConvolutionWithoutBias() {
    final Shape in = Shape.image(7, 8, 2);
    final Model m =
        single(
            new Conv2D(
                "conv",
                in,
                3,
                3,
                2,
                Padding.VALID,
                false,
                true,
                ParamSpec.Init.GLOROT_UNIFORM,
                F64));
    GradientCheck.check(m, GradientCheck.random(2, in.withBatch(2)), training(2), TOLERANCE);
  }

  @Test
  void shouldMatchFiniteDifferencesForStridedConvolutionWithExplicitPadding() {
    // The ResNet downsampling conv: 3x3, stride 2, padding 1, no bias; odd and even sizes.
    final Shape in = Shape.image(7, 6, 2);
    final Model m =
        single(
            new Conv2D(
                "conv",
                in,
                3,
                3,
                2,
                Padding.explicit(1),
                false,
                true,
                ParamSpec.Init.GLOROT_UNIFORM,
                F64));
    GradientCheck.check(m, GradientCheck.random(14, in.withBatch(2)), training(2), TOLERANCE);
    // The first-layer path (ConvWeightGradient) as well.
    GradientCheck.checkModelBackward(
        m, GradientCheck.random(15, in.withBatch(2)), training(2), TOLERANCE);
  }

  @Test
  void shouldMatchFiniteDifferencesForDense() {
    final Shape in = Shape.flat(5);
    final Model m = single(new Dense("fc", in, 4, true, true, ParamSpec.Init.GLOROT_UNIFORM, F64));
    GradientCheck.check(m, GradientCheck.random(3, in.withBatch(3)), training(3), TOLERANCE);
  }

  @Test
  void shouldMatchFiniteDifferencesForRelu() {
    final Shape in = Shape.image(3, 4, 2);
    GradientCheck.check(
        single(new Relu("relu", in, F64)),
        GradientCheck.random(4, in.withBatch(2)),
        training(2),
        TOLERANCE);
  }

  @Test
  void shouldMatchFiniteDifferencesForMaxPool() {
    final Shape in = Shape.image(5, 6, 2);
    GradientCheck.check(
        single(new MaxPool2D("pool", in, 2, 2, F64)),
        GradientCheck.random(5, in.withBatch(2)),
        training(2),
        TOLERANCE);
  }

  @Test
  void shouldMatchFiniteDifferencesForPaddedOverlappingMaxPool() {
    // The ResNet stem's pool: 3x3, stride 2, padding 1.
    final Shape in = Shape.image(6, 7, 2);
    GradientCheck.check(
        single(new MaxPool2D("pool", in, 3, 2, 1, F64)),
        GradientCheck.random(16, in.withBatch(2)),
        training(2),
        TOLERANCE);
  }

  @ParameterizedTest
  @org.junit.jupiter.params.provider.ValueSource(ints = {0, 1})
  void shouldMatchFiniteDifferencesForAvgPool(final int padding) {
    final Shape in = Shape.image(5, 6, 3);
    GradientCheck.check(
        single(new AvgPool2D("pool", in, 3, 2, padding, F64)),
        GradientCheck.random(17, in.withBatch(2)),
        training(2),
        TOLERANCE);
  }

  @Test
  void shouldMatchFiniteDifferencesForGlobalAvgPool() {
    final Shape in = Shape.image(3, 4, 5);
    GradientCheck.check(
        single(new GlobalAvgPool("gap", in, F64)),
        GradientCheck.random(18, in.withBatch(3)),
        training(3),
        TOLERANCE);
  }

  @Test
  void shouldMatchFiniteDifferencesForFlattenAndReshape() {
    final Shape in = Shape.image(2, 3, 4);
    GradientCheck.check(
        single(new Flatten("flat", in, F64)),
        GradientCheck.random(6, in.withBatch(2)),
        training(2),
        TOLERANCE);
    GradientCheck.check(
        single(new Reshape("reshape", Shape.flat(12), new Shape(3, 4))),
        GradientCheck.random(7, 2, 12),
        training(2),
        TOLERANCE);
  }

  @Test
  void shouldMatchFiniteDifferencesForDropoutWithAFixedMask() {
    final Shape in = Shape.flat(20);
    GradientCheck.check(
        single(new Dropout("drop", in, 0.4, 0, F64)),
        GradientCheck.random(8, in.withBatch(3)),
        training(3),
        TOLERANCE);
  }

  @Test
  void shouldMatchFiniteDifferencesForBatchNormOnImagesInTraining() {
    final Shape in = Shape.image(3, 2, 4);
    GradientCheck.check(
        single(new BatchNorm("bn", in, 0.9, 1e-3, true, F64)),
        GradientCheck.random(9, in.withBatch(3)),
        training(3),
        TOLERANCE);
  }

  @Test
  void shouldMatchFiniteDifferencesForBatchNormOnVectorsInTraining() {
    final Shape in = Shape.flat(3);
    GradientCheck.check(
        single(new BatchNorm("bn", in, 0.9, 1e-3, true, F64)),
        GradientCheck.random(10, in.withBatch(5)),
        training(5),
        TOLERANCE);
  }

  @Test
  void shouldMatchFiniteDifferencesForGhostBatchNormWithUnevenVirtualBatches() {
    final Shape in = Shape.image(2, 2, 3);
    final StepContext ghost =
        new StepContext(true, BnTraining.GHOST, 2, StatsReducer.LOCAL, 1, 0, 0, 5);
    GradientCheck.check(
        single(new BatchNorm("bn", in, 0.9, 1e-3, true, F64)),
        GradientCheck.random(11, in.withBatch(5)),
        ghost,
        TOLERANCE);
  }

  @Test
  void shouldMatchFiniteDifferencesForFrozenBatchNormThroughTheAffineMapOnly() {
    final Shape in = Shape.image(2, 3, 2);
    final Model m = single(new BatchNorm("bn", in, 0.9, 1e-3, false, F64));
    GradientCheck.check(m, GradientCheck.random(12, in.withBatch(3)), training(3), TOLERANCE);
    assertEquals(
        0.0,
        m.gradients().norm2Number().doubleValue(),
        "frozen BN must not produce gamma/beta gradients");
  }

  @Test
  void shouldMatchFiniteDifferencesForBatchNormInInference() {
    final Shape in = Shape.flat(4);
    GradientCheck.check(
        single(new BatchNorm("bn", in, 0.9, 1e-3, true, F64)),
        GradientCheck.random(13, in.withBatch(3)),
        StepContext.inference(),
        TOLERANCE,
        false);
  }

  @Test
  void shouldDetectAWrongGradientNegativeControl() {
    final INDArray a = GradientCheck.random(1, 10);
    final INDArray b = a.mul(1.0 + 1e-4);
    org.junit.jupiter.api.Assertions.assertTrue(GradientCheck.relativeError(a, b) > TOLERANCE);
  }
}
