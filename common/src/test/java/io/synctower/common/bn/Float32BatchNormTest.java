package io.synctower.common.bn;

import static io.synctower.common.bn.BnFixture.OUTPUTS;
import static io.synctower.common.bn.BnFixture.activations;
import static io.synctower.common.bn.BnFixture.syncTowers;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.bn.BnFixture.Bound;
import io.synctower.common.bn.BnFixture.Kind;
import io.synctower.common.nn.BnTraining;
import io.synctower.common.nn.Shape;
import io.synctower.common.nn.StatsReducer;
import io.synctower.common.nn.StepContext;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The float32 BatchNorm (whose element-wise maps run as fused passes, {@link FusedAffine}) against
 * {@link ReferenceBatchNorm} in float64 on the same inputs, in every mode (local on images and
 * vectors, ghost with an uneven last virtual batch, SyncBN over two towers, frozen, inference):
 * every output within float32 rounding of the float64 truth, and no further from it than the same
 * float32 layer with the broadcast-op passes the fused ones replaced.
 */
class Float32BatchNormTest {

  /** Elementwise bound against the float64 truth, relative above 1. */
  private static final double TOLERANCE = 2e-4;

  private static final String[] NAMES = OUTPUTS;

  /**
   * Each output of {@code fast} within {@link #TOLERANCE} of {@code truth} elementwise, and its
   * relative L2 error no larger than 1.5x that of {@code reference}, the broadcast-op passes (plus
   * 1e-9 for outputs both get essentially exact).
   */
  private static void assertAsAccurate(
      final List<INDArray> truth, final List<INDArray> fast, final List<INDArray> reference) {
    for (int k = 0; k < truth.size(); k++) {
      final INDArray t = truth.get(k).reshape(truth.get(k).length());
      final double[] e = t.toDoubleVector();
      final double[] a = fast.get(k).reshape(fast.get(k).length()).toDoubleVector();
      assertEquals(e.length, a.length, NAMES[k]);
      for (int i = 0; i < e.length; i++) {
        final double bound = TOLERANCE * Math.max(1, Math.abs(e[i]));
        assertTrue(
            Math.abs(e[i] - a[i]) <= bound,
            NAMES[k] + "[" + i + "]: float64 reference " + e[i] + ", float32 fast " + a[i]);
      }
      final double norm = Math.max(t.norm2Number().doubleValue(), 1e-30);
      final double fastError = fast.get(k).reshape(e.length).sub(t).norm2Number().doubleValue();
      final double refError = reference.get(k).reshape(e.length).sub(t).norm2Number().doubleValue();
      assertTrue(
          fastError / norm <= 1.5 * refError / norm + 1e-9,
          NAMES[k]
              + ": float32 fast relative error "
              + fastError / norm
              + " vs float32 broadcast ops "
              + refError / norm);
    }
  }

  private static void compare(
      final Shape in, final int n, final boolean trainable, final StepContext ctx) {
    final INDArray x = activations(1, in, n, true);
    final INDArray dy = activations(2, in, n, true).subi(1);
    final List<INDArray> truth =
        new Bound(Kind.REFERENCE, DataType.DOUBLE, in, trainable, 3).run(x, dy, ctx);
    final List<INDArray> reference =
        new Bound(Kind.BROADCAST, DataType.FLOAT, in, trainable, 3).run(x, dy, ctx);
    final List<INDArray> fast =
        new Bound(Kind.FAST, DataType.FLOAT, in, trainable, 3).run(x, dy, ctx);
    assertAsAccurate(truth, fast, reference);
  }

  // 5x7 pixels x 9 samples = 315 rows: nine GEMM blocks of 32 plus a remainder of 27.
  private static final Shape IMAGE = Shape.image(5, 7, 3);

  @ParameterizedTest
  @ValueSource(ints = {1, 9, 64})
  void shouldMatchFloat64WithLocalStatistics(final int n) {
    compare(IMAGE, n, true, StepContext.training(0, 0, n));
  }

  @Test
  void shouldMatchFloat64OnVectorsAndOnManyRows() {
    compare(Shape.flat(5), 300, true, StepContext.training(0, 0, 300));
    // 48x48 pixels x 8 samples: 18432 values per channel.
    compare(Shape.image(48, 48, 4), 8, true, StepContext.training(0, 0, 8));
  }

  @Test
  void shouldMatchFloat64WithGhostBatchesOfUnevenSize() {
    final int n = 11;
    compare(
        IMAGE, n, true, new StepContext(true, BnTraining.GHOST, 4, StatsReducer.LOCAL, 0, 0, 0, n));
  }

  @Test
  void shouldMatchFloat64WhenFrozenAndInInference() {
    compare(IMAGE, 9, false, StepContext.training(0, 0, 9));
    compare(IMAGE, 9, true, StepContext.inference());
    compare(Shape.flat(5), 30, true, StepContext.inference());
  }

  private static List<List<INDArray>> towers(final Kind kind, final DataType dtype)
      throws Exception {
    return syncTowers(() -> new Bound(kind, dtype, IMAGE, true, 3), IMAGE, true);
  }

  @Test
  void shouldMatchFloat64WithSyncBnOverTwoTowers() throws Exception {
    final List<List<INDArray>> truth = towers(Kind.REFERENCE, DataType.DOUBLE);
    final List<List<INDArray>> reference = towers(Kind.BROADCAST, DataType.FLOAT);
    final List<List<INDArray>> fast = towers(Kind.FAST, DataType.FLOAT);
    for (int t = 0; t < 2; t++) {
      assertAsAccurate(truth.get(t), fast.get(t), reference.get(t));
    }
  }
}
