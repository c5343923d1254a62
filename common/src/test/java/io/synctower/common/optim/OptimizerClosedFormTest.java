package io.synctower.common.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.optim.OptimizerSpec.Momentum;
import io.synctower.common.optim.OptimizerSpec.Type;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class OptimizerClosedFormTest {
  private static final int N = 9;
  private static final int STEPS = 4;
  private static final double[] LRS = {0.05, 0.03, 0.04, 0.01}; // as a schedule would vary them
  private static final double[] LRS_ADADELTA = {1.0, 0.8, 1.0, 0.5};

  /** Computes the oracle's result for the given per-element trainable mask. */
  @FunctionalInterface
  interface Oracle {
    double[] run(double[] p0, double[][] grads, double[] lrs, boolean[] trainable);
  }

  static Stream<Arguments> cases() {
    return Stream.of(
        Arguments.of(
            "SGD plain",
            OptimizerSpec.sgd(0.1),
            (Oracle) (p, g, l, m) -> ClosedFormOracles.sgd(p, g, l, m, 0.0, false, 0.0)),
        Arguments.of(
            "SGD L2",
            OptimizerSpec.builder(Type.SGD).lr(0.1).weightDecay(0.05).build(),
            (Oracle) (p, g, l, m) -> ClosedFormOracles.sgd(p, g, l, m, 0.0, false, 0.05)),
        Arguments.of(
            "SGD momentum L2",
            OptimizerSpec.builder(Type.SGD)
                .lr(0.1)
                .momentum(Momentum.STANDARD, 0.9)
                .weightDecay(0.05)
                .build(),
            (Oracle) (p, g, l, m) -> ClosedFormOracles.sgd(p, g, l, m, 0.9, false, 0.05)),
        Arguments.of(
            "SGD nesterov L2",
            OptimizerSpec.builder(Type.SGD)
                .lr(0.1)
                .momentum(Momentum.NESTEROV, 0.8)
                .weightDecay(0.05)
                .build(),
            (Oracle) (p, g, l, m) -> ClosedFormOracles.sgd(p, g, l, m, 0.8, true, 0.05)),
        Arguments.of(
            "Adam defaults",
            OptimizerSpec.adam(1e-3),
            (Oracle)
                (p, g, l, m) -> ClosedFormOracles.adam(p, g, l, m, 0.9, 0.999, 1e-8, 0, false)),
        Arguments.of(
            "Adam L2, custom betas and eps",
            OptimizerSpec.builder(Type.ADAM)
                .betas(0.8, 0.95)
                .epsilon(1e-3)
                .weightDecay(0.1)
                .build(),
            (Oracle)
                (p, g, l, m) -> ClosedFormOracles.adam(p, g, l, m, 0.8, 0.95, 1e-3, 0.1, false)),
        Arguments.of(
            "AdamW",
            OptimizerSpec.adamW(1e-3, 0.1),
            (Oracle)
                (p, g, l, m) -> ClosedFormOracles.adam(p, g, l, m, 0.9, 0.999, 1e-8, 0.1, true)),
        Arguments.of(
            "RMSProp defaults",
            OptimizerSpec.builder(Type.RMSPROP).build(),
            (Oracle) (p, g, l, m) -> ClosedFormOracles.rmsProp(p, g, l, m, 0.99, 1e-8, 0, 0)),
        Arguments.of(
            "RMSProp momentum L2",
            OptimizerSpec.builder(Type.RMSPROP)
                .alpha(0.9)
                .epsilon(1e-4)
                .momentum(Momentum.STANDARD, 0.7)
                .weightDecay(0.05)
                .build(),
            (Oracle) (p, g, l, m) -> ClosedFormOracles.rmsProp(p, g, l, m, 0.9, 1e-4, 0.7, 0.05)),
        Arguments.of(
            "Adadelta Keras defaults",
            OptimizerSpec.builder(Type.ADADELTA).build(),
            (Oracle) (p, g, l, m) -> ClosedFormOracles.adadelta(p, g, l, m, 0.95, 1e-7, 0)),
        Arguments.of(
            "Adadelta L2, custom rho and eps",
            OptimizerSpec.builder(Type.ADADELTA).rho(0.9).epsilon(1e-4).weightDecay(0.05).build(),
            (Oracle) (p, g, l, m) -> ClosedFormOracles.adadelta(p, g, l, m, 0.9, 1e-4, 0.05)));
  }

  static double[] initialParams() {
    final double[] p = new double[N];
    for (int i = 0; i < N; i++) {
      p[i] = 0.7 - 0.23 * i + 0.05 * i * i;
    }
    return p;
  }

  static double[][] gradients() {
    final double[][] g = new double[STEPS][N];
    for (int t = 0; t < STEPS; t++) {
      for (int i = 0; i < N; i++) {
        g[t][i] = Math.sin(1.3 * i + 0.7 * t) * (1 + 0.4 * i) + (i == 4 ? 0.0 : 0.01 * t);
      }
    }
    return g;
  }

  static double[] lrsFor(final OptimizerSpec spec) {
    return spec.type() == Type.ADADELTA ? LRS_ADADELTA : LRS;
  }

  /** Runs {@code spec} through ND4J with one reused gradient buffer refilled every step. */
  static double[] runNd4j(
      final OptimizerSpec spec,
      final TrainableRanges ranges,
      final DataType dtype,
      final double[] p0,
      final double[][] grads,
      final double[] lrs) {
    final INDArray params = Nd4j.createFromArray(p0).castTo(dtype);
    final INDArray g = Nd4j.zeros(dtype, p0.length);
    final Optimizer opt = spec.create(params, ranges);
    for (int t = 0; t < grads.length; t++) {
      g.assign(Nd4j.createFromArray(grads[t]).castTo(dtype));
      opt.step(params, g, lrs[t]);
    }
    assertEquals(grads.length, opt.state().updates());
    return params.castTo(DataType.DOUBLE).toDoubleVector();
  }

  static boolean[] allTrainable() {
    final boolean[] mask = new boolean[N];
    Arrays.fill(mask, true);
    return mask;
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void shouldMatchScalarClosedFormInFloat64(
      final String name, final OptimizerSpec spec, final Oracle oracle) {
    final double[] p0 = initialParams();
    final double[][] g = gradients();
    final double[] expected = oracle.run(p0, g, lrsFor(spec), allTrainable());
    final double[] actual =
        runNd4j(spec, TrainableRanges.all(N), DataType.DOUBLE, p0, g, lrsFor(spec));
    assertArrayEquals(expected, actual, 1e-12, name);
    assertTrue(maxAbsDiff(p0, actual) > 1e-4, "the update must actually move the parameters");
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void shouldMatchClosedFormInFloat32WithinSinglePrecision(
      final String name, final OptimizerSpec spec, final Oracle oracle) {
    final double[] p0 = initialParams();
    final double[][] g = gradients();
    final double[] expected = oracle.run(p0, g, lrsFor(spec), allTrainable());
    final double[] actual =
        runNd4j(spec, TrainableRanges.all(N), DataType.FLOAT, p0, g, lrsFor(spec));
    assertArrayEquals(expected, actual, 2e-5, name);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void shouldLeaveFrozenRangesAndTheirStateUntouched(
      final String name, final OptimizerSpec spec, final Oracle oracle) {
    // [0,2) frozen, [2,5) trainable, [5,7) frozen, [7,9) trainable
    final TrainableRanges ranges =
        new TrainableRanges.Builder()
            .add(2, false)
            .add(3, true)
            .add(2, false)
            .add(1, true)
            .add(1, true)
            .build();
    assertEquals(2, ranges.ranges().size(), "adjacent trainable segments merge");
    final boolean[] mask = new boolean[N];
    for (final TrainableRanges.Range r : ranges.ranges()) {
      for (long i = r.offset(); i < r.end(); i++) {
        mask[(int) i] = true;
      }
    }
    final double[] p0 = initialParams();
    final double[][] g = gradients();

    final INDArray params = Nd4j.createFromArray(p0);
    final INDArray grads = Nd4j.zeros(DataType.DOUBLE, N);
    final Optimizer opt = spec.create(params, ranges);
    for (int t = 0; t < STEPS; t++) {
      grads.assign(Nd4j.createFromArray(g[t]));
      opt.step(params, grads, lrsFor(spec)[t]);
    }
    final double[] actual = params.toDoubleVector();

    assertArrayEquals(oracle.run(p0, g, lrsFor(spec), mask), actual, 1e-12, name);
    for (int i = 0; i < N; i++) {
      if (!mask[i]) {
        assertEquals(p0[i], actual[i], 0.0, "frozen element " + i + " changed");
        for (final INDArray buffer : opt.state().buffers()) {
          assertEquals(0.0, buffer.getDouble(i), 0.0, "state of frozen element " + i);
        }
      }
    }
  }

  @Test
  void shouldDifferFromHeavyBallWhenNesterovIsOn() {
    final double[] p0 = initialParams();
    final double[][] g = gradients();
    final OptimizerSpec.Builder b = OptimizerSpec.builder(Type.SGD).lr(0.1);
    final double[] heavyBall =
        runNd4j(
            b.momentum(Momentum.STANDARD, 0.9).build(),
            TrainableRanges.all(N),
            DataType.DOUBLE,
            p0,
            g,
            LRS);
    final double[] nesterov =
        runNd4j(
            b.momentum(Momentum.NESTEROV, 0.9).build(),
            TrainableRanges.all(N),
            DataType.DOUBLE,
            p0,
            g,
            LRS);
    assertTrue(maxAbsDiff(heavyBall, nesterov) > 1e-3, "nesterov must not equal heavy-ball");
  }

  @Test
  void shouldNotMatchAdamL2WhenWeightDecayIsDecoupled() {
    final double[] p0 = initialParams();
    final double[][] g = gradients();
    final double[] adamL2 =
        runNd4j(
            OptimizerSpec.builder(Type.ADAM).lr(1e-2).weightDecay(0.1).build(),
            TrainableRanges.all(N),
            DataType.DOUBLE,
            p0,
            g,
            LRS);
    final double[] adamW =
        runNd4j(
            OptimizerSpec.adamW(1e-2, 0.1), TrainableRanges.all(N), DataType.DOUBLE, p0, g, LRS);
    assertTrue(maxAbsDiff(adamL2, adamW) > 1e-4, "negative control: L2 and decoupled decay");
    // ...and the difference is the decay alone: without it the two rules coincide.
    final double[] adam0 =
        runNd4j(OptimizerSpec.adam(1e-2), TrainableRanges.all(N), DataType.DOUBLE, p0, g, LRS);
    final double[] adamW0 =
        runNd4j(
            OptimizerSpec.adamW(1e-2, 0.0), TrainableRanges.all(N), DataType.DOUBLE, p0, g, LRS);
    assertArrayEquals(adam0, adamW0, 0.0);
  }

  @Test
  void shouldContinueIdenticallyAfterStateIsRestoredFromCheckpoint() {
    final OptimizerSpec spec = OptimizerSpec.adamW(1e-2, 0.1);
    final double[] p0 = initialParams();
    final double[][] g = gradients();
    final INDArray params = Nd4j.createFromArray(p0);
    final INDArray grads = Nd4j.zeros(DataType.DOUBLE, N);
    final Optimizer opt = spec.create(params);
    for (int t = 0; t < 2; t++) {
      opt.step(params, grads.assign(Nd4j.createFromArray(g[t])), LRS[t]);
    }
    final INDArray resumedParams = params.dup();
    final Optimizer resumed = spec.create(resumedParams);
    assertEquals(opt.state().names(), resumed.state().names());
    for (int b = 0; b < opt.state().buffers().size(); b++) {
      resumed.state().buffers().get(b).assign(opt.state().buffers().get(b));
    }
    resumed.state().setUpdates(opt.state().updates());
    final INDArray resumedGrads = Nd4j.zeros(DataType.DOUBLE, N);
    for (int t = 2; t < STEPS; t++) {
      opt.step(params, grads.assign(Nd4j.createFromArray(g[t])), LRS[t]);
      resumed.step(resumedParams, resumedGrads.assign(Nd4j.createFromArray(g[t])), LRS[t]);
    }
    assertArrayEquals(params.toDoubleVector(), resumedParams.toDoubleVector(), 0.0);
  }

  @Test
  void shouldExposeNamedFullLengthStateBuffers() {
    final INDArray params = Nd4j.zeros(DataType.DOUBLE, N);
    assertEquals(
        java.util.List.of(), OptimizerSpec.sgd(0.1).create(params).state().names(), "plain SGD");
    final OptimizerState adam = OptimizerSpec.adam(1e-3).create(params).state();
    assertEquals(java.util.List.of("m", "v"), adam.names());
    for (final INDArray b : adam.buffers()) {
      assertEquals(N, b.length());
      assertEquals(DataType.DOUBLE, b.dataType());
    }
  }

  @Test
  void shouldRejectAnotherParamsBufferNaNRateAndMismatchedGrads() {
    final INDArray params = Nd4j.zeros(DataType.DOUBLE, N);
    final Optimizer opt = OptimizerSpec.sgd(0.1).create(params);
    final INDArray grads = Nd4j.zeros(DataType.DOUBLE, N);
    assertThrows(IllegalArgumentException.class, () -> opt.step(params.dup(), grads, 0.1));
    final IllegalArgumentException nan =
        assertThrows(IllegalArgumentException.class, () -> opt.step(params, grads, Double.NaN));
    assertTrue(nan.getMessage().contains("lr = NaN"), nan.getMessage());
    final IllegalArgumentException len =
        assertThrows(
            IllegalArgumentException.class,
            () -> opt.step(params, Nd4j.zeros(DataType.DOUBLE, N + 1), 0.1));
    assertTrue(len.getMessage().contains("grads must match params"), len.getMessage());
    assertThrows(
        IllegalArgumentException.class, () -> opt.step(params, Nd4j.zeros(DataType.FLOAT, N), 0.1));
  }

  @Test
  void shouldRejectRangesPastTheEndOfParamsAtCreation() {
    final INDArray params = Nd4j.zeros(DataType.DOUBLE, N);
    final IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> OptimizerSpec.adam(1e-3).create(params, TrainableRanges.all(N + 1)));
    assertTrue(e.getMessage().contains("ranges end at " + (N + 1)), e.getMessage());
    assertThrows(
        IllegalArgumentException.class,
        () -> OptimizerSpec.adam(1e-3).create(Nd4j.zeros(DataType.DOUBLE, 3, 3)));
    assertThrows(
        IllegalArgumentException.class,
        () -> OptimizerSpec.adam(1e-3).create(Nd4j.zeros(DataType.INT32, N)));
  }

  private static double maxAbsDiff(final double[] a, final double[] b) {
    double max = 0;
    for (int i = 0; i < a.length; i++) {
      max = Math.max(max, Math.abs(a[i] - b[i]));
    }
    return max;
  }
}
