package io.synctower.common.bn;

import io.synctower.common.nn.BnTraining;
import io.synctower.common.nn.Layer;
import io.synctower.common.nn.ParamSpec;
import io.synctower.common.nn.PerBatchSize;
import io.synctower.common.nn.Shape;
import io.synctower.common.nn.ShapeException;
import io.synctower.common.nn.StepContext;
import io.synctower.common.nn.Vectors;
import java.util.Arrays;
import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Test-only copy of {@link BatchNorm} as it was before its sums became GEMMs (column reductions
 * over float64 scratch copies): the reference the fast path is held to. It keeps its own union
 * buffer when none is bound, so it also runs inside a {@link io.synctower.common.nn.Model}, which
 * binds union slices only to {@link BatchNorm}.
 */
final class ReferenceBatchNorm implements Layer {
  private final String name;
  private final Shape in;
  private final int channels;
  private final int rowsPerSample;
  private final double decay;
  private final double epsilon;
  private final boolean trainable;
  private final DataType dtype;
  private final PerBatchSize<Buffers> buffers;

  private INDArray gamma;
  private INDArray beta;
  private INDArray gammaGrad;
  private INDArray betaGrad;
  private INDArray movingMean;
  private final INDArray emptyCountAndSums;
  private final INDArray emptyCentredSums;
  private INDArray movingVar;
  private INDArray unionPartials;

  // Per-channel scratch in Java: a few hundred doubles, reused every step.
  private final double[] shift;
  private final double[] gammaHost;
  private final double[] sums;
  private final double[] partialsHost;
  private final double[] coefficientA;
  private final double[] coefficientB;
  private final double[] coefficientC;
  private final double[] dgammaHost;
  private final double[] dbetaHost;
  private final double[] movingHost;
  private final double[] unionHost;
  private final double[] countAndSums;
  private final double[] centred;

  ReferenceBatchNorm(
      final String name,
      final Shape in,
      final double decay,
      final double epsilon,
      final boolean trainable,
      final DataType dtype) {
    if (in.rank() != 1 && !in.isImage()) {
      throw new ShapeException(name, "batchnorm needs an image (C,H,W) or a vector, got " + in);
    }
    if (!(decay >= 0 && decay < 1)) {
      throw new ShapeException(name, "decay must be in [0, 1), got " + decay);
    }
    if (!(epsilon > 0)) {
      throw new ShapeException(name, "epsilon must be > 0, got " + epsilon);
    }
    this.name = name;
    this.in = in;
    this.channels = in.last();
    this.rowsPerSample = (int) (in.elementCount() / channels);
    this.decay = decay;
    this.epsilon = epsilon;
    this.trainable = trainable;
    this.dtype = dtype;
    this.buffers = new PerBatchSize<>(Buffers::new);
    this.shift = new double[channels];
    this.gammaHost = new double[channels];
    this.sums = new double[channels];
    this.partialsHost = new double[partialsLength()];
    this.coefficientA = new double[channels];
    this.coefficientB = new double[channels];
    this.coefficientC = new double[channels];
    this.dgammaHost = new double[channels];
    this.dbetaHost = new double[channels];
    this.movingHost = new double[channels];
    this.unionHost = new double[partialsLength()];
    this.countAndSums = new double[1 + channels];
    this.emptyCountAndSums = Nd4j.create(DataType.DOUBLE, 1 + channels);
    this.emptyCentredSums = Nd4j.create(DataType.DOUBLE, 2 * channels);
    this.centred = new double[2 * channels];
    this.unionPartials = Nd4j.create(DataType.DOUBLE, partialsLength());
  }

  /** Length of this layer's statistic partials: count, then C sums, then C sums of squares. */
  public int partialsLength() {
    return 1 + 2 * channels;
  }

  public int channels() {
    return channels;
  }

  public boolean trainable() {
    return trainable;
  }

  public double decay() {
    return decay;
  }

  public double epsilon() {
    return epsilon;
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public Shape inputShape() {
    return in;
  }

  @Override
  public Shape outputShape() {
    return in;
  }

  @Override
  public List<ParamSpec> tensors() {
    final long[] c = {channels};
    return List.of(
        new ParamSpec("weight", c, ParamSpec.Kind.PARAMETER, trainable, ParamSpec.Init.ONES),
        new ParamSpec("bias", c, ParamSpec.Kind.PARAMETER, trainable, ParamSpec.Init.ZEROS),
        new ParamSpec("running_mean", c, ParamSpec.Kind.STATE, false, ParamSpec.Init.ZEROS),
        new ParamSpec("running_var", c, ParamSpec.Kind.STATE, false, ParamSpec.Init.ONES));
  }

  @Override
  public void bind(final List<INDArray> values, final List<INDArray> gradients) {
    gamma = values.get(0);
    beta = values.get(1);
    movingMean = values.get(2);
    movingVar = values.get(3);
    gammaGrad = gradients.get(0);
    betaGrad = gradients.get(1);
  }

  /**
   * Binds this layer's slice of the model's union-statistics buffer (float64, length {@link
   * #partialsLength()}). The model zeroes it before each training forward.
   */
  public void bindUnionPartials(final INDArray slice) {
    this.unionPartials = slice;
  }

  /** The union partials this layer records into (its own buffer unless one was bound). */
  INDArray unionPartials() {
    return unionPartials;
  }

  /** Whether this forward normalizes with batch statistics. */
  private boolean usesBatchStatistics(final StepContext ctx) {
    return ctx.training() && trainable;
  }

  @Override
  public INDArray forward(final INDArray x, final StepContext ctx) {
    final int n = (int) x.size(0);
    final Buffers b = buffers.get(n);
    final INDArray x2 = x.reshape('c', (long) n * rowsPerSample, channels);
    b.input2 = x2;
    if (!usesBatchStatistics(ctx)) {
      normalizeWithMovingStatistics(b, x2);
      return b.y;
    }
    Vectors.read(movingMean, shift);
    Vectors.read(gamma, gammaHost);
    final int groups = b.groupCount(ctx);
    final boolean sync = ctx.bnTraining() == BnTraining.SYNC;
    for (int g = 0; g < groups; g++) {
      final long r0 = b.groupStart(g, ctx);
      final long r1 = b.groupEnd(g, ctx);
      final long rows = r1 - r0;
      final INDArray xg = x2.get(NDArrayIndex.interval(r0, r1), NDArrayIndex.all());
      final INDArray scratch = b.scratch.get(NDArrayIndex.interval(0, rows), NDArrayIndex.all());
      final double[] mean = b.groupMean[g];
      final double[] invStd = b.groupInvStd[g];

      // Pass 1: count and sum (float64), reduced over the sync group -> the group mean.
      scratch.assign(xg).sum(b.sumVector, 0);
      Vectors.read(b.sumVector, sums);
      final double localCount = rows;
      double m = localCount;
      if (sync) {
        countAndSums[0] = localCount;
        System.arraycopy(sums, 0, countAndSums, 1, channels);
        Vectors.write(countAndSums, b.countAndSums);
        ctx.reducer().sumInPlace(b.countAndSums);
        Vectors.read(b.countAndSums, countAndSums);
        m = countAndSums[0];
        System.arraycopy(countAndSums, 1, sums, 0, channels);
      }
      for (int c = 0; c < channels; c++) {
        mean[c] = m > 0 ? sums[c] / m : shift[c];
      }

      // Pass 2: centred sums around that mean; the variance does not cancel catastrophically.
      Vectors.write(mean, b.shiftVector);
      scratch.subiRowVector(b.shiftVector);
      scratch.sum(b.sumVector, 0);
      Vectors.read(b.sumVector, sums);
      System.arraycopy(sums, 0, centred, 0, channels);
      scratch.muli(scratch).sum(b.sumVector, 0);
      Vectors.read(b.sumVector, sums);
      System.arraycopy(sums, 0, centred, channels, channels);
      addToUnion(localCount, mean);
      if (sync) {
        Vectors.write(centred, b.centredSums);
        ctx.reducer().sumInPlace(b.centredSums);
        Vectors.read(b.centredSums, centred);
      }
      b.groupCount[g] = m;
      for (int c = 0; c < channels; c++) {
        final double s = m > 0 ? centred[c] / m : 0;
        final double variance = m > 0 ? Math.max(centred[channels + c] / m - s * s, 0) : 0;
        invStd[c] = 1.0 / Math.sqrt(variance + epsilon);
        coefficientA[c] = invStd[c];
        coefficientB[c] = mean[c] + s;
      }
      Vectors.write(coefficientA, b.vectorA);
      Vectors.write(coefficientB, b.vectorB);
      final INDArray xhat = b.xhat.get(NDArrayIndex.interval(r0, r1), NDArrayIndex.all());
      final INDArray y = b.y2.get(NDArrayIndex.interval(r0, r1), NDArrayIndex.all());
      // (x - mean) first, then scale: folding into x * a + b cancels in float32 for large means.
      xhat.assign(xg).subiRowVector(b.vectorB).muliRowVector(b.vectorA);
      y.assign(xhat).muliRowVector(gamma).addiRowVector(beta);
    }
    return b.y;
  }

  /**
   * Adds this tower's rows of the current group to the union buffer, as partials relative to the
   * shift K (the moving mean, identical on every replica) so they can be summed over groups and
   * towers: with d = center - K, {@code S_K = S_c + m d} and {@code Q_K = Q_c + 2 d S_c + m d^2},
   * where S_c and Q_c are this tower's (unreduced) sums centred on {@code center}.
   */
  private void addToUnion(final double localCount, final double[] center) {
    Vectors.read(unionPartials, unionHost);
    unionHost[0] += localCount;
    for (int c = 0; c < channels; c++) {
      final double d = center[c] - shift[c];
      final double sc = centred[c];
      unionHost[1 + c] += sc + localCount * d;
      unionHost[1 + channels + c] += centred[channels + c] + 2 * d * sc + localCount * d * d;
    }
    Vectors.write(unionHost, unionPartials);
  }

  private void normalizeWithMovingStatistics(final Buffers b, final INDArray x2) {
    Vectors.read(movingMean, shift);
    Vectors.read(movingVar, movingHost);
    Vectors.read(gamma, gammaHost);
    final double[] betaHost = coefficientC;
    Vectors.read(beta, betaHost);
    for (int c = 0; c < channels; c++) {
      final double scale = gammaHost[c] / Math.sqrt(movingHost[c] + epsilon);
      coefficientA[c] = scale;
      coefficientB[c] = betaHost[c] - shift[c] * scale;
    }
    Vectors.write(coefficientA, b.vectorA);
    Vectors.write(coefficientB, b.vectorB);
    b.y2.assign(x2).muliRowVector(b.vectorA).addiRowVector(b.vectorB);
  }

  @Override
  public INDArray backward(final INDArray dy, final StepContext ctx) {
    final int n = (int) dy.size(0);
    final Buffers b = buffers.get(n);
    final INDArray dy2 = dy.reshape('c', (long) n * rowsPerSample, channels);
    if (!usesBatchStatistics(ctx)) {
      // Frozen or inference: y = a x + b with constants, so dx = a dy (vectorA from forward).
      b.dx2.assign(dy2).muliRowVector(b.vectorA);
      return b.dx;
    }
    Arrays.fill(dgammaHost, 0);
    Arrays.fill(dbetaHost, 0);
    final int groups = b.groupCount(ctx);
    for (int g = 0; g < groups; g++) {
      final long r0 = b.groupStart(g, ctx);
      final long r1 = b.groupEnd(g, ctx);
      final long rows = r1 - r0;
      final INDArray dyg = dy2.get(NDArrayIndex.interval(r0, r1), NDArrayIndex.all());
      final INDArray xhat = b.xhat.get(NDArrayIndex.interval(r0, r1), NDArrayIndex.all());
      final INDArray scratch = b.scratch.get(NDArrayIndex.interval(0, rows), NDArrayIndex.all());
      // partialsHost[1..C] := sum dy, partialsHost[1+C..] := sum dy*x_hat (float64)
      scratch.assign(dyg).sum(b.sumVector, 0);
      Vectors.read(b.sumVector, sums);
      System.arraycopy(sums, 0, partialsHost, 1, channels);
      if (b.xhatScratch != null) {
        final INDArray xs =
            b.xhatScratch.get(NDArrayIndex.interval(0, rows), NDArrayIndex.all()).assign(xhat);
        scratch.muli(xs);
      } else {
        scratch.muli(xhat);
      }
      scratch.sum(b.sumVector, 0);
      Vectors.read(b.sumVector, sums);
      System.arraycopy(sums, 0, partialsHost, 1 + channels, channels);
      for (int c = 0; c < channels; c++) {
        dbetaHost[c] += partialsHost[1 + c];
        dgammaHost[c] += partialsHost[1 + channels + c];
      }
      if (ctx.bnTraining() == BnTraining.SYNC) {
        // The sync group's sum(dy) and sum(dy x_hat): one all-reduce of 2C values.
        System.arraycopy(partialsHost, 1, centred, 0, 2 * channels);
        Vectors.write(centred, b.backwardSums);
        ctx.reducer().sumInPlace(b.backwardSums);
        Vectors.read(b.backwardSums, centred);
        System.arraycopy(centred, 0, partialsHost, 1, 2 * channels);
      }
      final double m = b.groupCount[g];
      final double[] invStd = b.groupInvStd[g];
      for (int c = 0; c < channels; c++) {
        final double a = gammaHost[c] * invStd[c];
        coefficientA[c] = a;
        coefficientB[c] = m > 0 ? -a * partialsHost[1 + c] / m : 0;
        coefficientC[c] = m > 0 ? -a * partialsHost[1 + channels + c] / m : 0;
      }
      Vectors.write(coefficientA, b.vectorA);
      Vectors.write(coefficientB, b.vectorB);
      Vectors.write(coefficientC, b.vectorC);
      final INDArray dxg = b.dx2.get(NDArrayIndex.interval(r0, r1), NDArrayIndex.all());
      dyg.muliRowVector(b.vectorA);
      dxg.assign(xhat).muliRowVector(b.vectorC).addiRowVector(b.vectorB).addi(dyg);
    }
    Vectors.write(dgammaHost, gammaGrad);
    Vectors.write(dbetaHost, betaGrad);
    return b.dx;
  }

  /**
   * The forward part of a tower whose shard is empty in a SyncBN step: the same two all-reduces a
   * tower with samples issues, with zero partials, so the sync group neither hangs nor miscounts.
   * No-op where the layer would issue no collective (local, ghost, frozen, inference).
   */
  public void joinForwardWithoutSamples(final StepContext ctx) {
    if (usesBatchStatistics(ctx) && ctx.bnTraining() == BnTraining.SYNC) {
      emptyCountAndSums.assign(0);
      ctx.reducer().sumInPlace(emptyCountAndSums);
      emptyCentredSums.assign(0);
      ctx.reducer().sumInPlace(emptyCentredSums);
    }
  }

  /** The backward counterpart of {@link #joinForwardWithoutSamples}: one all-reduce of 2C zeros. */
  public void joinBackwardWithoutSamples(final StepContext ctx) {
    if (usesBatchStatistics(ctx) && ctx.bnTraining() == BnTraining.SYNC) {
      emptyCentredSums.assign(0);
      ctx.reducer().sumInPlace(emptyCentredSums);
    }
  }

  /**
   * Updates the moving statistics from the union partials of all towers (already reduced by the
   * step). No-op for frozen layers or when nothing was accumulated.
   */
  public void applyMovingStatistics() {
    foldUnionIntoMovingStatistics(decay);
  }

  /**
   * Precise BN: replaces the moving statistics with the mean and unbiased variance of the union
   * partials, which hold the whole population the caller accumulated (every batch, every tower),
   * with no moving average. No-op for frozen layers or when nothing was accumulated; the variance
   * is kept when the population has a single value.
   */
  public void replaceMovingStatistics() {
    foldUnionIntoMovingStatistics(0);
  }

  /** {@code moving = weightOfOld * moving + (1 - weightOfOld) * union statistics}. */
  private void foldUnionIntoMovingStatistics(final double weightOfOld) {
    if (!trainable) {
      return;
    }
    final double[] union = unionHost;
    Vectors.read(unionPartials, union);
    final double m = union[0];
    if (m <= 0) {
      return;
    }
    Vectors.read(movingMean, shift);
    Vectors.read(movingVar, movingHost);
    final double[] newMean = coefficientA;
    for (int c = 0; c < channels; c++) {
      final double s = union[1 + c] / m;
      final double biased = Math.max(union[1 + channels + c] / m - s * s, 0);
      newMean[c] = weightOfOld * shift[c] + (1 - weightOfOld) * (shift[c] + s);
      if (m > 1) {
        movingHost[c] = weightOfOld * movingHost[c] + (1 - weightOfOld) * biased * m / (m - 1);
      }
    }
    Vectors.write(newMean, movingMean);
    Vectors.write(movingHost, movingVar);
  }

  /** Preallocated buffers for one batch size. */
  private final class Buffers {
    final int n;
    final INDArray y;
    final INDArray y2;
    final INDArray dx;
    final INDArray dx2;
    final INDArray xhat;
    final INDArray scratch;
    final INDArray xhatScratch;
    final INDArray countAndSums = Nd4j.create(DataType.DOUBLE, 1 + channels);
    final INDArray centredSums = Nd4j.create(DataType.DOUBLE, 2 * channels);
    final INDArray backwardSums = Nd4j.create(DataType.DOUBLE, 2 * channels);
    final INDArray sumVector = Nd4j.create(DataType.DOUBLE, channels);
    final INDArray shiftVector = Nd4j.create(DataType.DOUBLE, channels);
    final INDArray vectorA = Nd4j.create(dtype, channels);
    final INDArray vectorB = Nd4j.create(dtype, channels);
    final INDArray vectorC = Nd4j.create(dtype, channels);
    double[][] groupMean = new double[0][];
    double[][] groupInvStd = new double[0][];
    double[] groupCount = new double[0];
    INDArray input2;

    Buffers(final int n) {
      this.n = n;
      final long rows = (long) n * rowsPerSample;
      y = Nd4j.create(dtype, in.withBatch(n));
      y2 = y.reshape('c', rows, channels);
      dx = Nd4j.create(dtype, in.withBatch(n));
      dx2 = dx.reshape('c', rows, channels);
      xhat = Nd4j.create(dtype, rows, channels);
      scratch = Nd4j.create(DataType.DOUBLE, rows, channels);
      xhatScratch = dtype == DataType.DOUBLE ? null : Nd4j.create(DataType.DOUBLE, rows, channels);
    }

    int groupCount(final StepContext ctx) {
      final int groups =
          ctx.bnTraining() == BnTraining.GHOST ? (n + ctx.ghostBatch() - 1) / ctx.ghostBatch() : 1;
      if (groupMean.length != groups) {
        groupMean = new double[groups][channels];
        groupInvStd = new double[groups][channels];
        groupCount = new double[groups];
      }
      return groups;
    }

    long groupStart(final int g, final StepContext ctx) {
      return ctx.bnTraining() == BnTraining.GHOST ? (long) g * ctx.ghostBatch() * rowsPerSample : 0;
    }

    long groupEnd(final int g, final StepContext ctx) {
      if (ctx.bnTraining() != BnTraining.GHOST) {
        return (long) n * rowsPerSample;
      }
      return (long) Math.min(n, (g + 1) * ctx.ghostBatch()) * rowsPerSample;
    }
  }
}
