package io.synctower.common.bn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.nn.Layer;
import io.synctower.common.nn.Shape;
import io.synctower.common.nn.StepContext;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * The float32 BatchNorm (whose element-wise maps run as fused passes, {@link FusedAffine}) against
 * {@link ReferenceBatchNorm} in float64 on the same inputs, in every mode (local on images and
 * vectors, ghost with an uneven last virtual batch, SyncBN over two towers, frozen, inference):
 * every output within float32 rounding of the float64 truth, and no further from it than the same
 * float32 layer with the broadcast-op passes the fused ones replaced.
 */
class Float32BatchNormTest {
  private static final double EPS = 1e-3;

  /** Elementwise bound against the float64 truth, relative above 1. */
  private static final double TOLERANCE = 2e-4;

  /** Which implementation a {@link Bound} runs. */
  private enum Kind {
    /** {@link ReferenceBatchNorm}: the float64 truth. */
    REFERENCE,
    /** {@link BatchNorm} with its broadcast-op element-wise passes (the float32 baseline). */
    BROADCAST,
    /** {@link BatchNorm} with the fused passes of {@link FusedAffine}. */
    FUSED
  }

  /**
   * One BN layer (some {@link Kind}, float32 or float64) with its own parameters and statistics.
   */
  private static final class Bound {
    final Layer layer;
    final INDArray gamma;
    final INDArray beta;
    final INDArray movingMean;
    final INDArray movingVar;
    final INDArray dgamma;
    final INDArray dbeta;
    final INDArray union;
    final DataType dtype;

    Bound(
        final Kind kind,
        final DataType dtype,
        final Shape in,
        final boolean trainable,
        final long seed) {
      this.dtype = dtype;
      final int c = in.last();
      final SplittableRandom rng = new SplittableRandom(seed);
      // Views at an offset into flat buffers, as a Model binds them.
      final INDArray values = Nd4j.create(dtype, 1 + 4 * c);
      gamma = values.get(NDArrayIndex.interval(1, 1 + c)).assign(uniform(rng, c, 0.5, 1.5));
      beta = values.get(NDArrayIndex.interval(1 + c, 1 + 2 * c)).assign(uniform(rng, c, -.5, .5));
      movingMean =
          values.get(NDArrayIndex.interval(1 + 2 * c, 1 + 3 * c)).assign(uniform(rng, c, -1, 1));
      movingVar =
          values.get(NDArrayIndex.interval(1 + 3 * c, 1 + 4 * c)).assign(uniform(rng, c, .5, 2));
      final INDArray gradients = Nd4j.create(dtype, 1 + 2 * c);
      dgamma = gradients.get(NDArrayIndex.interval(1, 1 + c));
      dbeta = gradients.get(NDArrayIndex.interval(1 + c, 1 + 2 * c));
      if (kind != Kind.REFERENCE) {
        final BatchNorm bn =
            new BatchNorm("bn", in, 0.9, EPS, trainable, dtype, kind == Kind.FUSED);
        union = Nd4j.create(DataType.DOUBLE, bn.partialsLength());
        bn.bindUnionPartials(union);
        layer = bn;
      } else {
        final ReferenceBatchNorm bn = new ReferenceBatchNorm("bn", in, 0.9, EPS, trainable, dtype);
        union = bn.unionPartials();
        layer = bn;
      }
      layer.bind(List.of(gamma, beta, movingMean, movingVar), List.of(dgamma, dbeta));
    }

    /** Forward, backward and the moving-statistics update; every result, as float64 copies. */
    List<INDArray> run(final INDArray x, final INDArray dy, final StepContext ctx) {
      union.assign(0);
      final INDArray y = layer.forward(x.castTo(dtype).dup(), ctx).castTo(DataType.DOUBLE).dup();
      final INDArray dx = layer.backward(dy.castTo(dtype).dup(), ctx).castTo(DataType.DOUBLE).dup();
      if (layer instanceof BatchNorm bn) {
        bn.applyMovingStatistics();
      } else if (ctx.training()) {
        ((ReferenceBatchNorm) layer).applyMovingStatistics();
      }
      final List<INDArray> out = new ArrayList<>();
      for (final INDArray a : List.of(y, dx, dgamma, dbeta, union, movingMean, movingVar)) {
        out.add(a.castTo(DataType.DOUBLE).dup());
      }
      return out;
    }
  }

  private static INDArray uniform(
      final SplittableRandom rng, final int n, final double lo, final double hi) {
    final double[] v = new double[n];
    for (int i = 0; i < n; i++) {
      v[i] = lo + (hi - lo) * rng.nextDouble();
    }
    return Nd4j.createFromArray(v);
  }

  /**
   * Channel c's values around mean 3c - 2 with spread 1 + c, exactly representable in float32 so
   * the float32 and float64 layers see the same input.
   */
  private static INDArray activations(final long seed, final Shape in, final int n) {
    final SplittableRandom rng = new SplittableRandom(seed);
    final int c = in.last();
    final double[] v = new double[(int) (in.elementCount() * n)];
    for (int i = 0; i < v.length; i++) {
      final int ch = i % c;
      v[i] = (float) (3.0 * ch - 2 + (1 + ch) * (2 * rng.nextDouble() - 1));
    }
    return Nd4j.createFromArray(v).reshape(in.withBatch(n));
  }

  private static final String[] NAMES = {
    "y", "dx", "dgamma", "dbeta", "union", "moving mean", "moving var"
  };

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
    final INDArray x = activations(1, in, n);
    final INDArray dy = activations(2, in, n).subi(1);
    final List<INDArray> truth =
        new Bound(Kind.REFERENCE, DataType.DOUBLE, in, trainable, 3).run(x, dy, ctx);
    final List<INDArray> reference =
        new Bound(Kind.BROADCAST, DataType.FLOAT, in, trainable, 3).run(x, dy, ctx);
    final List<INDArray> fast =
        new Bound(Kind.FUSED, DataType.FLOAT, in, trainable, 3).run(x, dy, ctx);
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

  /** An in-process sum over two towers in a fixed order, for SyncBN without a transport. */
  private static final class PairReducer {
    private final double[][] slots = new double[2][];
    private final CyclicBarrier barrier = new CyclicBarrier(2);

    StatsReducer tower(final int t) {
      return v -> {
        slots[t] = v.toDoubleVector();
        await();
        final double[] sum = new double[slots[0].length];
        for (int i = 0; i < sum.length; i++) {
          sum[i] = slots[0][i] + slots[1][i];
        }
        await();
        v.assign(Nd4j.createFromArray(sum));
      };
    }

    private void await() {
      try {
        barrier.await();
      } catch (InterruptedException | BrokenBarrierException e) {
        throw new IllegalStateException(e);
      }
    }
  }

  private static List<List<INDArray>> syncTowers(final Kind kind, final DataType dtype)
      throws Exception {
    final PairReducer reducer = new PairReducer();
    final int[] shards = {7, 4};
    final ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      final List<Future<List<INDArray>>> results = new ArrayList<>();
      for (int t = 0; t < 2; t++) {
        final StepContext ctx =
            new StepContext(true, BnTraining.SYNC, 0, reducer.tower(t), 0, 0, 0, 11);
        final INDArray x = activations(10 + t, IMAGE, shards[t]);
        final INDArray dy = activations(20 + t, IMAGE, shards[t]);
        final Bound b = new Bound(kind, dtype, IMAGE, true, 3);
        results.add(pool.submit(() -> b.run(x, dy, ctx)));
      }
      final List<List<INDArray>> out = new ArrayList<>();
      for (final Future<List<INDArray>> f : results) {
        out.add(f.get());
      }
      return out;
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void shouldMatchFloat64WithSyncBnOverTwoTowers() throws Exception {
    final List<List<INDArray>> truth = syncTowers(Kind.REFERENCE, DataType.DOUBLE);
    final List<List<INDArray>> reference = syncTowers(Kind.BROADCAST, DataType.FLOAT);
    final List<List<INDArray>> fast = syncTowers(Kind.FUSED, DataType.FLOAT);
    for (int t = 0; t < 2; t++) {
      assertAsAccurate(truth.get(t), fast.get(t), reference.get(t));
    }
  }
}
