package io.synctower.common.bn;

import io.synctower.common.nn.BnTraining;
import io.synctower.common.nn.Layer;
import io.synctower.common.nn.Shape;
import io.synctower.common.nn.StatsReducer;
import io.synctower.common.nn.StepContext;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Supplier;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * What the BatchNorm comparison tests share ({@link FastBatchNormTest}, {@link
 * Float32BatchNormTest}): one BN layer of a chosen implementation bound as a Model binds it, the
 * inputs, and SyncBN over two tower threads without a transport.
 */
final class BnFixture {
  static final double EPS = 1e-3;

  /** Names of the outputs {@link Bound#run} returns, in order. */
  static final String[] OUTPUTS = {
    "y", "dx", "dgamma", "dbeta", "union", "moving mean", "moving var"
  };

  private BnFixture() {}

  /** Which implementation a {@link Bound} runs. */
  enum Kind {
    /** {@link ReferenceBatchNorm}: the previous implementation, and the float64 truth. */
    REFERENCE,
    /** {@link BatchNorm} with its broadcast-op element-wise passes (the float32 baseline). */
    BROADCAST,
    /** {@link BatchNorm} as models build it (fused passes of {@link FusedAffine} in float32). */
    FAST
  }

  /**
   * One BN layer (some {@link Kind}, float32 or float64) with its own parameters and statistics.
   */
  static final class Bound {
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
            kind == Kind.FAST
                ? new BatchNorm("bn", in, 0.9, EPS, trainable, dtype)
                : new BatchNorm("bn", in, 0.9, EPS, trainable, dtype, false);
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

  static INDArray uniform(
      final SplittableRandom rng, final int n, final double lo, final double hi) {
    final double[] v = new double[n];
    for (int i = 0; i < n; i++) {
      v[i] = lo + (hi - lo) * rng.nextDouble();
    }
    return Nd4j.createFromArray(v);
  }

  /**
   * float64 activations, channel c's values around mean 3c - 2 with spread 1 + c: offsets the sums
   * must survive. With {@code float32Exact} each value is rounded to float32 first, so float32 and
   * float64 layers see the same input.
   */
  static INDArray activations(
      final long seed, final Shape in, final int n, final boolean float32Exact) {
    final SplittableRandom rng = new SplittableRandom(seed);
    final int c = in.last();
    final double[] v = new double[(int) (in.elementCount() * n)];
    for (int i = 0; i < v.length; i++) {
      final int ch = i % c;
      final double value = 3.0 * ch - 2 + (1 + ch) * (2 * rng.nextDouble() - 1);
      v[i] = float32Exact ? (float) value : value;
    }
    return Nd4j.createFromArray(v).reshape(in.withBatch(n));
  }

  /**
   * SyncBN over two tower threads with uneven shards (7 + 4 samples of {@code image}, global batch
   * 11) and an in-process sum in a fixed order: each tower's {@link Bound#run} outputs.
   */
  static List<List<INDArray>> syncTowers(
      final Supplier<Bound> layer, final Shape image, final boolean float32Exact) throws Exception {
    final PairReducer reducer = new PairReducer();
    final int[] shards = {7, 4};
    final ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      final List<Future<List<INDArray>>> results = new ArrayList<>();
      for (int t = 0; t < 2; t++) {
        final StepContext ctx =
            new StepContext(true, BnTraining.SYNC, 0, reducer.tower(t), 0, 0, 0, 11);
        final INDArray x = activations(10 + t, image, shards[t], float32Exact);
        final INDArray dy = activations(20 + t, image, shards[t], float32Exact);
        final Bound b = layer.get();
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

  /** An in-process sum over two towers in a fixed order, for SyncBN without a transport. */
  private static final class PairReducer {
    private final double[][] slots = new double[2][];
    private final CyclicBarrier barrier = new CyclicBarrier(2);

    StatsReducer tower(final int t) {
      return StatsReducer.of(
          t,
          2,
          v -> {
            slots[t] = v.toDoubleVector();
            await();
            final double[] sum = new double[slots[0].length];
            for (int i = 0; i < sum.length; i++) {
              sum[i] = slots[0][i] + slots[1][i];
            }
            await();
            v.assign(Nd4j.createFromArray(sum));
          });
    }

    private void await() {
      try {
        barrier.await();
      } catch (InterruptedException | BrokenBarrierException e) {
        throw new IllegalStateException(e);
      }
    }
  }
}
