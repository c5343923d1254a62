package io.synctower.common.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * {@link Relu}'s backward ({@code dy * step(x)}) against libnd4j's {@code relu_bp}, the op it
 * replaced: equal values (up to the sign of zero) on random data and on the edge cases x = -0, 0,
 * the smallest subnormals either side of 0, and dy of either sign, in float32 and float64.
 */
class ReluTest {
  @ParameterizedTest
  @ValueSource(strings = {"FLOAT", "DOUBLE"})
  void shouldMatchReluBpIncludingAtZero(final String type) {
    final DataType dtype = DataType.valueOf(type);
    final Shape shape = Shape.image(3, 5, 4);
    final int n = 7;
    final int count = (int) (shape.elementCount() * n);
    final SplittableRandom rng = new SplittableRandom(11);
    final double[] x = new double[count];
    final double[] dy = new double[count];
    final double tiny = dtype == DataType.FLOAT ? Float.MIN_VALUE : Double.MIN_VALUE;
    final double[] edges = {-0.0, 0.0, tiny, -tiny, -1, 1};
    for (int i = 0; i < count; i++) {
      x[i] = i < edges.length * 2 ? edges[i % edges.length] : 2 * rng.nextDouble() - 1;
      dy[i] = (i / edges.length) % 2 == 0 ? 1 + rng.nextDouble() : -1 - rng.nextDouble();
    }
    final INDArray xa = Nd4j.createFromArray(x).castTo(dtype).reshape(shape.withBatch(n));
    final INDArray dya = Nd4j.createFromArray(dy).castTo(dtype).reshape(shape.withBatch(n));

    final Relu relu = new Relu("relu", shape, dtype);
    final StepContext ctx = StepContext.training(0, 0, n);
    relu.forward(xa, ctx);
    final double[] got = relu.backward(dya.dup(), ctx).dup().reshape(count).toDoubleVector();

    final INDArray expected = Nd4j.create(dtype, shape.withBatch(n));
    new NativeOp("relu_bp", new long[0], 0.0)
        .exec(new INDArray[] {xa, dya}, new INDArray[] {expected});
    final double[] want = expected.reshape(count).toDoubleVector();
    for (int i = 0; i < count; i++) {
      // == treats -0 and +0 as equal: the one documented difference.
      assertEquals(
          true, want[i] == got[i], "dx[" + i + "] at x=" + x[i] + ": " + want[i] + " vs " + got[i]);
    }
  }
}
