package io.synctower.common.bn;

import io.synctower.common.nn.BnTraining;
import io.synctower.common.nn.Layer;
import io.synctower.common.nn.Model;
import io.synctower.common.nn.ParamSpec;
import io.synctower.common.nn.PerBatchSize;
import io.synctower.common.nn.Shape;
import io.synctower.common.nn.ShapeException;
import io.synctower.common.nn.StatsReducer;
import io.synctower.common.nn.StepContext;
import io.synctower.common.nn.UnionStatisticsLayer;
import io.synctower.common.nn.Vectors;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.broadcast.BroadcastMulOp;
import org.nd4j.linalg.api.ops.impl.broadcast.BroadcastSubOp;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Batch normalization (Ioffe &amp; Szegedy 2015) over the last axis: per channel for images ({@code
 * [n, H, W, C]}, statistics over n*H*W values) and per feature for vectors.
 *
 * <p>Training ({@code trainable} and a training step), for each statistic group B (the shard, a
 * ghost batch, or via {@link StatsReducer} the sync group's union), with m = |B|:
 *
 * <pre>
 *   mu_B = (1/m) sum x,   sigma2_B = (1/m) sum (x - mu_B)^2        (biased)
 *   x_hat = (x - mu_B) / sqrt(sigma2_B + eps),   y = gamma * x_hat + beta
 *   dx = gamma / (m sqrt(sigma2_B + eps)) * (m dy - sum dy - x_hat sum(dy x_hat))
 * </pre>
 *
 * with the sums of the backward also over B (all-reduced for SyncBN), and {@code dgamma = sum(dy
 * x_hat)}, {@code dbeta = sum dy} over this tower's rows only (the gradient all-reduce adds the
 * towers). SyncBN's forward statistics take one collective per layer: every tower's count, mean and
 * sums centred on it are gathered and merged in rank order ({@link GroupStatistics}), so a layer
 * synchronizes twice per step (forward, backward), as PyTorch's SyncBatchNorm does.
 *
 * <p>Statistics are float64 partials {@code (m, S = sum(x - K), Q = sum((x - K)^2))} with the shift
 * K = the moving mean at the start of the step. K is identical on every replica, so partials of
 * ghost batches and of towers can simply be added; and because K tracks the mean, the variance
 * {@code Q/m - (S/m)^2} does not cancel catastrophically (a channel with mean 1e4 and standard
 * deviation 1e-2 still gets its variance; it is clamped at 0 as a last guard).
 *
 * <p>Speed: every per-channel sum is a GEMM with a column of ones ({@link ChannelSums}, blockwise
 * in the layer's type, blocks added in float64) rather than a column reduction, which in ND4J never
 * reaches BLAS or oneDNN; the element-wise passes work in the layer's type on preallocated buffers
 * (no float64 copies of the activations). A training forward makes three sum passes (sum; centred
 * sum; centred sum of squares) and the backward two (sum dy; sum dy x_hat). In float32 the
 * per-channel affine maps (x_hat, y; the x_hat term of dx; the frozen/inference y) are one fused
 * pass each ({@link FusedAffine}, oneDNN on the CPU backend) instead of two to four broadcast ops.
 *
 * <p>Update ops, by construction: every training forward adds this tower's partials to the model's
 * union-statistics buffer; the step reduces that buffer over all towers (it rides along with the
 * gradient all-reduce) and calls {@link #applyMovingStatistics()} before the optimizer runs.
 * Convention: {@code moving = decay * moving + (1 - decay) * batch}, with the batch variance
 * unbiased ({@code m/(m-1)}, m over the union of all towers). PyTorch's momentum 0.1 is decay 0.9.
 *
 * <p>Frozen ({@code trainable: false}) and inference: normalize with the moving statistics, no
 * statistic updates, no collectives, gradient to x through the affine map only (the TF 2 semantics
 * for fine-tuning a frozen backbone).
 */
public final class BatchNorm implements UnionStatisticsLayer {
  private final String name;
  private final Shape in;
  private final int channels;
  private final int rowsPerSample;
  private final double decay;
  private final double epsilon;
  private final boolean trainable;
  private final ParamSpec.Init gammaInit;
  private final DataType dtype;
  private final PerBatchSize<Buffers> buffers;

  /**
   * Whether the element-wise maps run as single fused passes ({@link FusedAffine}): float32 only,
   * where libnd4j hands them to oneDNN; float64 keeps the broadcast ops (exact, and faster there).
   */
  private final boolean fused;

  private final FusedAffine affine;

  private INDArray gamma;
  private INDArray beta;
  private INDArray gammaGrad;
  private INDArray betaGrad;
  private INDArray movingMean;
  private final INDArray emptyBackwardSums;
  // SyncBN's gathered forward partials (GroupStatistics), sized for the sync group.
  private INDArray gathered;
  private double[] gatheredHost;
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
  private final double[] centred;

  public BatchNorm(
      final String name,
      final Shape in,
      final double decay,
      final double epsilon,
      final boolean trainable,
      final DataType dtype) {
    this(name, in, decay, epsilon, trainable, ParamSpec.Init.ONES, dtype, dtype == DataType.FLOAT);
  }

  /**
   * A BN whose scale gamma starts at {@code gammaInit}: {@link ParamSpec.Init#ONES} (the usual) or
   * {@link ParamSpec.Init#ZEROS} (the last BN of a residual block under zero-init residual, Goyal
   * et al. 2017).
   */
  public BatchNorm(
      final String name,
      final Shape in,
      final double decay,
      final double epsilon,
      final boolean trainable,
      final ParamSpec.Init gammaInit,
      final DataType dtype) {
    this(name, in, decay, epsilon, trainable, gammaInit, dtype, dtype == DataType.FLOAT);
  }

  /**
   * As the public constructor, choosing whether the float32 element-wise maps run fused (tests
   * compare both).
   */
  BatchNorm(
      final String name,
      final Shape in,
      final double decay,
      final double epsilon,
      final boolean trainable,
      final DataType dtype,
      final boolean fusedPasses) {
    this(name, in, decay, epsilon, trainable, ParamSpec.Init.ONES, dtype, fusedPasses);
  }

  private BatchNorm(
      final String name,
      final Shape in,
      final double decay,
      final double epsilon,
      final boolean trainable,
      final ParamSpec.Init gammaInit,
      final DataType dtype,
      final boolean fusedPasses) {
    if (in.rank() != 1 && !in.isImage()) {
      throw new ShapeException(name, "batchnorm needs an image (C,H,W) or a vector, got " + in);
    }
    if (!(decay >= 0 && decay < 1)) {
      throw new ShapeException(name, "decay must be in [0, 1), got " + decay);
    }
    if (!(epsilon > 0)) {
      throw new ShapeException(name, "epsilon must be > 0, got " + epsilon);
    }
    if (gammaInit != ParamSpec.Init.ONES && gammaInit != ParamSpec.Init.ZEROS) {
      throw new ShapeException(name, "gamma starts at ONES or ZEROS, not " + gammaInit);
    }
    this.name = name;
    this.in = in;
    this.channels = in.last();
    this.rowsPerSample = (int) (in.elementCount() / channels);
    this.decay = decay;
    this.epsilon = epsilon;
    this.trainable = trainable;
    this.gammaInit = gammaInit;
    this.dtype = dtype;
    this.buffers = new PerBatchSize<>(Buffers::new);
    this.fused = fusedPasses && dtype == DataType.FLOAT;
    this.affine = fused ? new FusedAffine() : null;
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
    this.emptyBackwardSums = Nd4j.create(DataType.DOUBLE, 2 * channels);
    this.centred = new double[2 * channels];
  }

  /** The BN layers of {@code model}, in layer order. */
  public static List<BatchNorm> layersOf(final Model model) {
    final List<BatchNorm> bns = new ArrayList<>();
    for (final Layer layer : model.layers()) {
      if (layer instanceof BatchNorm bn) {
        bns.add(bn);
      }
    }
    return Collections.unmodifiableList(bns);
  }

  /** Length of this layer's statistic partials: count, then C sums, then C sums of squares. */
  @Override
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
        new ParamSpec("weight", c, ParamSpec.Kind.PARAMETER, trainable, gammaInit),
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
  @Override
  public void bindUnionPartials(final INDArray slice) {
    this.unionPartials = slice;
  }

  /** Whether this forward normalizes with batch statistics. */
  private boolean usesBatchStatistics(final StepContext ctx) {
    return ctx.training() && trainable;
  }

  @Override
  public INDArray forward(final INDArray x, final StepContext ctx) {
    final int n = (int) x.size(0);
    final Buffers b = buffers.get(n);
    final INDArray x2 = b.input.rows(x);
    if (!usesBatchStatistics(ctx)) {
      normalizeWithMovingStatistics(b, x);
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
      final INDArray xg = rowsOf(x2, r0, r1);
      final INDArray work = rowsOf(b.work, r0, r1);
      final ChannelSums channelSums = b.channelSums(rows);
      final double[] mean = b.groupMean[g];
      final double[] invStd = b.groupInvStd[g];

      // Pass 1: count and sum (float64 accumulation) -> this group's mean, the centre.
      channelSums.sum(xg, sums);
      final double localCount = rows;
      for (int c = 0; c < channels; c++) {
        // The centre as the layer's type holds it, so the centred sums below are exactly
        // relative to this value (in float32, the rounding of the mean lands in S_c).
        mean[c] = asStored(localCount > 0 ? sums[c] / localCount : shift[c]);
      }

      // Pass 2: sums centred on that mean; the variance does not cancel catastrophically, and in
      // float32 the block sums' rounding is relative to the spread, not to the mean.
      Vectors.write(mean, b.vectorB);
      Nd4j.exec(new BroadcastSubOp(xg, b.vectorB, work, 1));
      channelSums.sum(work, sums);
      System.arraycopy(sums, 0, centred, 0, channels);
      work.muli(work);
      channelSums.sum(work, sums);
      System.arraycopy(sums, 0, centred, channels, channels);
      addToUnion(localCount, mean);
      // SyncBN: the sync group's count, centre and centred sums, from every tower's, in one round.
      final double m = sync ? gatherAndMerge(ctx.reducer(), localCount, mean) : localCount;
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
      if (usesFusedOps()) {
        // x_hat = (x - center) * invStd and y = (x - center) * (gamma invStd) + beta, each one
        // pass from x, with the scales computed in float64 and rounded once.
        for (int c = 0; c < channels; c++) {
          coefficientC[c] = gammaHost[c] * invStd[c];
        }
        Vectors.write(coefficientC, b.vectorC);
        final INDArray x4 = rowsOf(b.input.rows4(x), r0, r1);
        affine.apply(x4, b.vectorB, b.vectorA, b.zeros, rowsOf(b.xhat4, r0, r1));
        affine.apply(x4, b.vectorB, b.vectorC, beta, rowsOf(b.y4, r0, r1));
        continue;
      }
      final INDArray xhat = rowsOf(b.xhat, r0, r1);
      final INDArray y = rowsOf(b.y2, r0, r1);
      // (x - mean) first, then scale: folding into x * a + b cancels in float32 for large means.
      Nd4j.exec(new BroadcastSubOp(xg, b.vectorB, xhat, 1));
      xhat.muliRowVector(b.vectorA);
      Nd4j.exec(new BroadcastMulOp(xhat, gamma, y, 1));
      y.addiRowVector(beta);
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

  /**
   * SyncBN's one forward collective ({@link GroupStatistics}): this tower's count, centre ({@code
   * centre}) and centred sums ({@link #centred}) into its slot, every tower's slots gathered by one
   * sum over zero-filled slots, then merged in rank order. Leaves the group's centre in {@code
   * centre} and its centred sums in {@link #centred}; returns the group's count.
   */
  private double gatherAndMerge(
      final StatsReducer reducer, final double localCount, final double[] centre) {
    final int members = reducer.groupSize();
    final INDArray slots = gatherSlots(members);
    Arrays.fill(gatheredHost, 0);
    GroupStatistics.put(gatheredHost, reducer.groupRank(), channels, localCount, centre, centred);
    Vectors.write(gatheredHost, slots);
    reducer.sumInPlace(slots);
    Vectors.read(slots, gatheredHost);
    return GroupStatistics.merge(
        gatheredHost, members, channels, dtype != DataType.DOUBLE, centre, centred);
  }

  /**
   * The float64 vector of {@code members} slots (and its host copy), allocated again only when the
   * sync group's size changes (an elastic restart), not per step.
   */
  private INDArray gatherSlots(final int members) {
    final int length = members * GroupStatistics.slotLength(channels);
    if (gathered == null || gathered.length() != length) {
      gathered = Nd4j.create(DataType.DOUBLE, length);
      gatheredHost = new double[length];
    }
    return gathered;
  }

  private void normalizeWithMovingStatistics(final Buffers b, final INDArray x) {
    final INDArray x2 = b.input.rows(x);
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
    if (usesFusedOps() && movingMean.dataType() == dtype) {
      // One pass, y = (x - moving mean) * a + beta: no cancellation for large means either.
      affine.apply(b.input.rows4(x), movingMean, b.vectorA, beta, b.y4);
      return;
    }
    Vectors.write(coefficientB, b.vectorB);
    Nd4j.exec(new BroadcastMulOp(x2, b.vectorA, b.y2, 1));
    b.y2.addiRowVector(b.vectorB);
  }

  /** Whether this call can use the fused passes (float32, parameters in the layer's type). */
  private boolean usesFusedOps() {
    return fused && gamma.dataType() == dtype && beta.dataType() == dtype;
  }

  /**
   * The {@code [rows, C]} and {@code [rows, 1, 1, C]} views of the last array given, rebuilt only
   * when another array comes: a layer's input and dy are the neighbours' buffers, the same arrays
   * every step, and each reshape costs ND4J about 6 us.
   */
  private final class CachedViews {
    private INDArray of;
    private INDArray rows;
    private INDArray rows4;

    /** {@code a} ({@code [n, ..., C]}, c order, contiguous) as {@code [rows, C]}, a view. */
    INDArray rows(final INDArray a) {
      if (a != of) {
        of = a;
        rows = a.reshape('c', a.length() / channels, channels);
        rows4 = null;
      }
      return rows;
    }

    /** {@code a} as the {@code [rows, 1, 1, C]} view {@link FusedAffine} takes. */
    INDArray rows4(final INDArray a) {
      final INDArray m = rows(a);
      if (rows4 == null) {
        rows4 = m.reshape('c', m.size(0), 1, 1, channels);
      }
      return rows4;
    }
  }

  /** {@code value} rounded to this layer's type (the identity for float64). */
  private double asStored(final double value) {
    return dtype == DataType.DOUBLE ? value : (double) (float) value;
  }

  /** Rows {@code [r0, r1)} of a {@code [rows, C]} or {@code [rows, 1, 1, C]} array, as a view. */
  private static INDArray rowsOf(final INDArray m, final long r0, final long r1) {
    if (r0 == 0 && r1 == m.size(0)) {
      return m;
    }
    return m.rank() == 2
        ? m.get(NDArrayIndex.interval(r0, r1), NDArrayIndex.all())
        : m.get(
            NDArrayIndex.interval(r0, r1),
            NDArrayIndex.all(),
            NDArrayIndex.all(),
            NDArrayIndex.all());
  }

  /** Only reads dy: the sums and the dx passes read it, never write it. */
  @Override
  public boolean mayOverwriteGradient() {
    return false;
  }

  @Override
  public INDArray backward(final INDArray dy, final StepContext ctx) {
    final int n = (int) dy.size(0);
    final Buffers b = buffers.get(n);
    final INDArray dy2 = b.gradient.rows(dy);
    if (!usesBatchStatistics(ctx)) {
      // Frozen or inference: y = a x + b with constants, so dx = a dy (vectorA from forward).
      Nd4j.exec(new BroadcastMulOp(dy2, b.vectorA, b.dx2, 1));
      return b.dx;
    }
    Arrays.fill(dgammaHost, 0);
    Arrays.fill(dbetaHost, 0);
    final int groups = b.groupCount(ctx);
    for (int g = 0; g < groups; g++) {
      final long r0 = b.groupStart(g, ctx);
      final long r1 = b.groupEnd(g, ctx);
      final long rows = r1 - r0;
      final INDArray dyg = rowsOf(dy2, r0, r1);
      final INDArray xhat = rowsOf(b.xhat, r0, r1);
      final INDArray work = rowsOf(b.work, r0, r1);
      final ChannelSums channelSums = b.channelSums(rows);
      // partialsHost[1..C] := sum dy, partialsHost[1+C..] := sum dy*x_hat (float64 accumulation)
      channelSums.sum(dyg, sums);
      System.arraycopy(sums, 0, partialsHost, 1, channels);
      dyg.mul(xhat, work);
      channelSums.sum(work, sums);
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
      final INDArray dxg = rowsOf(b.dx2, r0, r1);
      if (usesFusedOps()) {
        // dx = a * (dy - sum(dy)/m - x_hat * sum(dy x_hat)/m): the bracket's x_hat term in one
        // fused pass, then + dy and * a (three passes instead of four).
        for (int c = 0; c < channels; c++) {
          coefficientB[c] = m > 0 ? -partialsHost[1 + c] / m : 0;
          coefficientC[c] = m > 0 ? -partialsHost[1 + channels + c] / m : 0;
        }
        Vectors.write(coefficientB, b.vectorB);
        Vectors.write(coefficientC, b.vectorC);
        affine.apply(rowsOf(b.xhat4, r0, r1), b.zeros, b.vectorC, b.vectorB, rowsOf(b.dx4, r0, r1));
        dxg.addi(dyg);
        dxg.muliRowVector(b.vectorA);
        continue;
      }
      Vectors.write(coefficientB, b.vectorB);
      Vectors.write(coefficientC, b.vectorC);
      // dx = (x_hat * c + b) + dy * a, the caller's dy left untouched.
      Nd4j.exec(new BroadcastMulOp(xhat, b.vectorC, dxg, 1));
      dxg.addiRowVector(b.vectorB);
      Nd4j.exec(new BroadcastMulOp(dyg, b.vectorA, work, 1));
      dxg.addi(work);
    }
    Vectors.write(dgammaHost, gammaGrad);
    Vectors.write(dbetaHost, betaGrad);
    return b.dx;
  }

  /**
   * The forward part of a tower whose shard is empty in a SyncBN step: the same gather a tower with
   * samples issues, its own slot empty (count 0), so the sync group neither hangs nor miscounts.
   * No-op where the layer would issue no collective (local, ghost, frozen, inference).
   */
  @Override
  public void joinForwardWithoutSamples(final StepContext ctx) {
    if (usesBatchStatistics(ctx) && ctx.bnTraining() == BnTraining.SYNC) {
      final INDArray slots = gatherSlots(ctx.reducer().groupSize());
      slots.assign(0);
      ctx.reducer().sumInPlace(slots);
    }
  }

  /** The backward counterpart of {@link #joinForwardWithoutSamples}: one all-reduce of 2C zeros. */
  @Override
  public void joinBackwardWithoutSamples(final StepContext ctx) {
    if (usesBatchStatistics(ctx) && ctx.bnTraining() == BnTraining.SYNC) {
      emptyBackwardSums.assign(0);
      ctx.reducer().sumInPlace(emptyBackwardSums);
    }
  }

  /**
   * Updates the moving statistics from the union partials of all towers (already reduced by the
   * step). No-op for frozen layers or when nothing was accumulated.
   */
  @Override
  public void applyMovingStatistics() {
    foldUnionIntoMovingStatistics(decay);
  }

  /**
   * Precise BN: replaces the moving statistics with the mean and unbiased variance of the union
   * partials, which hold the whole population the caller accumulated (every batch, every tower),
   * with no moving average. No-op for frozen layers or when nothing was accumulated; the variance
   * is kept when the population has a single value.
   */
  @Override
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
    final INDArray work;
    final Map<Long, ChannelSums> channelSumsByRows = new HashMap<>();
    final INDArray backwardSums = Nd4j.create(DataType.DOUBLE, 2 * channels);
    final INDArray vectorA = Nd4j.create(dtype, channels);
    final INDArray vectorB = Nd4j.create(dtype, channels);
    final INDArray vectorC = Nd4j.create(dtype, channels);
    final INDArray zeros = Nd4j.create(dtype, channels);
    final INDArray xhat4;
    final INDArray y4;
    final INDArray dx4;
    double[][] groupMean = new double[0][];
    double[][] groupInvStd = new double[0][];
    double[] groupCount = new double[0];
    final CachedViews input = new CachedViews();
    final CachedViews gradient = new CachedViews();

    Buffers(final int n) {
      this.n = n;
      final long rows = (long) n * rowsPerSample;
      y = Nd4j.create(dtype, in.withBatch(n));
      y2 = y.reshape('c', rows, channels);
      dx = Nd4j.create(dtype, in.withBatch(n));
      dx2 = dx.reshape('c', rows, channels);
      xhat = Nd4j.create(dtype, rows, channels);
      work = Nd4j.create(dtype, rows, channels);
      xhat4 = xhat.reshape('c', rows, 1, 1, channels);
      y4 = y2.reshape('c', rows, 1, 1, channels);
      dx4 = dx2.reshape('c', rows, 1, 1, channels);
    }

    /** The GEMM sums for a group of {@code rows} rows (the whole shard, or a ghost batch). */
    ChannelSums channelSums(final long rows) {
      return channelSumsByRows.computeIfAbsent(rows, r -> new ChannelSums(r, channels, dtype));
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
