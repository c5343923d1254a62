package io.synctower.common.bn;

import static io.synctower.common.bn.BnFixture.EPS;
import static io.synctower.common.bn.BnFixture.OUTPUTS;
import static io.synctower.common.bn.BnFixture.activations;
import static io.synctower.common.bn.BnFixture.syncTowers;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.bn.BnFixture.Bound;
import io.synctower.common.bn.BnFixture.Kind;
import io.synctower.common.nn.BnTraining;
import io.synctower.common.nn.Conv2D;
import io.synctower.common.nn.Layer;
import io.synctower.common.nn.Model;
import io.synctower.common.nn.Padding;
import io.synctower.common.nn.ParamSpec;
import io.synctower.common.nn.Relu;
import io.synctower.common.nn.Shape;
import io.synctower.common.nn.StatsReducer;
import io.synctower.common.nn.StepContext;
import java.util.List;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The GEMM-sum BatchNorm against {@link ReferenceBatchNorm}, the column-reduction implementation it
 * replaced: float64 to 1e-12 in every mode (local, ghost with an uneven last virtual batch, SyncBN
 * over two towers, frozen, inference), on shapes whose row count is and is not a multiple of the
 * GEMM block; and the float32 gradient of a conv/BN model no further from its float64 run than with
 * the reference.
 */
class FastBatchNormTest {
  private static final double TOLERANCE = 1e-12;

  private static void assertClose(final List<INDArray> expected, final List<INDArray> actual) {
    final String[] names = OUTPUTS;
    for (int k = 0; k < expected.size(); k++) {
      final double[] e = expected.get(k).reshape(expected.get(k).length()).toDoubleVector();
      final double[] a = actual.get(k).reshape(actual.get(k).length()).toDoubleVector();
      assertEquals(e.length, a.length, names[k]);
      for (int i = 0; i < e.length; i++) {
        final double bound = TOLERANCE * Math.max(1, Math.abs(e[i]));
        assertTrue(
            Math.abs(e[i] - a[i]) <= bound,
            names[k] + "[" + i + "]: reference " + e[i] + ", fast " + a[i]);
      }
    }
  }

  private static void compare(
      final Shape in, final int n, final boolean trainable, final StepContext ctx) {
    final INDArray x = activations(1, in, n, false);
    final INDArray dy = activations(2, in, n, false).subi(1);
    final List<INDArray> expected =
        new Bound(Kind.REFERENCE, DataType.DOUBLE, in, trainable, 3).run(x, dy, ctx);
    final List<INDArray> actual =
        new Bound(Kind.FAST, DataType.DOUBLE, in, trainable, 3).run(x, dy, ctx);
    assertClose(expected, actual);
  }

  // 5x7 pixels x 9 samples = 315 rows: nine GEMM blocks of 32 plus a remainder of 27.
  private static final Shape IMAGE = Shape.image(5, 7, 3);

  @ParameterizedTest
  @ValueSource(ints = {1, 9, 64})
  void shouldMatchTheReferenceWithLocalStatistics(final int n) {
    compare(IMAGE, n, true, StepContext.training(0, 0, n));
  }

  @Test
  void shouldMatchTheReferenceOnVectorsAndOnWholeBlocks() {
    compare(Shape.flat(5), 300, true, StepContext.training(0, 0, 300));
    // 16x16 pixels x 4 samples = 1024 rows: whole blocks, no remainder.
    compare(Shape.image(16, 16, 2), 4, true, StepContext.training(0, 0, 4));
  }

  @Test
  void shouldMatchTheReferenceWithGhostBatchesOfUnevenSize() {
    final int n = 11;
    compare(
        IMAGE, n, true, new StepContext(true, BnTraining.GHOST, 4, StatsReducer.LOCAL, 0, 0, 0, n));
  }

  @Test
  void shouldMatchTheReferenceWhenFrozenAndInInference() {
    compare(IMAGE, 9, false, StepContext.training(0, 0, 9));
    compare(IMAGE, 9, true, StepContext.inference());
  }

  @Test
  void shouldMatchTheReferenceWithSyncBnOverTwoTowers() throws Exception {
    final List<List<INDArray>> expected =
        syncTowers(() -> new Bound(Kind.REFERENCE, DataType.DOUBLE, IMAGE, true, 3), IMAGE, false);
    final List<List<INDArray>> actual =
        syncTowers(() -> new Bound(Kind.FAST, DataType.DOUBLE, IMAGE, true, 3), IMAGE, false);
    for (int t = 0; t < 2; t++) {
      assertClose(expected.get(t), actual.get(t));
    }
  }

  /** conv -> BN -> relu -> conv -> BN, with the given BN implementation. */
  private static Model convBnModel(
      final Function<Shape, Layer> bn, final DataType dtype, final Shape in) {
    final Conv2D conv1 =
        new Conv2D("c1", in, 8, 3, 1, Padding.SAME, true, true, ParamSpec.Init.HE_NORMAL, dtype);
    final Shape s1 = conv1.outputShape();
    final Conv2D conv2 =
        new Conv2D("c2", s1, 8, 3, 1, Padding.SAME, true, true, ParamSpec.Init.HE_NORMAL, dtype);
    final Model m =
        new Model(
            List.of(conv1, bn.apply(s1), new Relu("r1", s1, dtype), conv2, bn.apply(s1)), dtype);
    m.initialize(5);
    return m;
  }

  private static INDArray gradient(final Model m, final INDArray x, final INDArray dLogits) {
    final DataType dt = m.dataType();
    final int n = (int) x.size(0);
    m.forward(x.castTo(dt).dup(), StepContext.training(0, 0, n));
    m.backward(dLogits.castTo(dt).dup(), StepContext.training(0, 0, n));
    return m.gradients().castTo(DataType.DOUBLE).dup();
  }

  private static double relativeError(final INDArray got, final INDArray truth) {
    return got.sub(truth).norm2Number().doubleValue() / truth.norm2Number().doubleValue();
  }

  /**
   * The accuracy criterion: the float32 gradient's relative error against a float64 run of
   * the same model must not grow. 32 samples of 48x48 give each channel 73728 values, where a plain
   * float32 accumulation would lose digits.
   */
  @Test
  void shouldKeepTheFloat32GradientAsCloseToFloat64AsTheReference() {
    final Shape in = Shape.image(48, 48, 3);
    final int n = 32;
    final INDArray x = activations(30, in, n, false);
    final Shape out = Shape.image(48, 48, 8);
    final INDArray dLogits = activations(31, out, n, false).muli(1e-3);
    final Function<DataType, Function<Shape, Layer>> fast =
        dt -> s -> new BatchNorm("bn" + System.nanoTime(), s, 0.9, EPS, true, dt);
    final Function<DataType, Function<Shape, Layer>> reference =
        dt -> s -> new ReferenceBatchNorm("bn" + System.nanoTime(), s, 0.9, EPS, true, dt);

    final Model truthModel = convBnModel(reference.apply(DataType.DOUBLE), DataType.DOUBLE, in);
    final INDArray params = truthModel.parameters().dup();
    final INDArray truth = gradient(truthModel, x, dLogits);
    final Model fast64 = convBnModel(fast.apply(DataType.DOUBLE), DataType.DOUBLE, in);
    fast64.parameters().assign(params);
    final double error64 = relativeError(gradient(fast64, x, dLogits), truth);
    System.out.printf("float64 GEMM-sum BN vs reference: %.3e%n", error64);
    assertTrue(error64 < 1e-12, "float64 fast = reference: " + error64);

    final Model old32 = convBnModel(reference.apply(DataType.FLOAT), DataType.FLOAT, in);
    old32.parameters().assign(params);
    final double oldError = relativeError(gradient(old32, x, dLogits), truth);
    final Model new32 = convBnModel(fast.apply(DataType.FLOAT), DataType.FLOAT, in);
    new32.parameters().assign(params);
    final double newError = relativeError(gradient(new32, x, dLogits), truth);
    System.out.printf(
        "float32 gradient vs float64: reference BN %.3e, GEMM-sum BN %.3e%n", oldError, newError);
    assertTrue(oldError > 0 && oldError < 1e-3, "reference float32 error " + oldError);
    assertTrue(newError <= oldError * 1.05, "GEMM-sum BN error " + newError + " vs " + oldError);
  }
}
