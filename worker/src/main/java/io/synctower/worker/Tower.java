package io.synctower.worker;

import io.synctower.common.bn.TimedStatsReducer;
import io.synctower.common.comm.Collective;
import io.synctower.common.comm.InProcessGroup;
import io.synctower.common.metrics.MetricSums;
import io.synctower.common.metrics.PhaseTimes;
import io.synctower.common.nn.Model;
import io.synctower.common.nn.NonFinite;
import io.synctower.common.nn.SoftmaxCrossEntropy;
import io.synctower.common.nn.StepContext;
import io.synctower.common.optim.Optimizer;
import java.util.Objects;
import java.util.function.Supplier;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * One model replica and the step it executes: docs/design.md's step contract for one tower.
 *
 * <p>The caller's loop (the tower's own thread):
 *
 * <pre>{@code
 * for each step k:
 *   StepResult r = tower.trainStep(x, labels, ctx.at(k, shardOffset, globalBatch), lr(k));
 * }</pre>
 *
 * <p>Step order, fixed here so no caller can forget or reorder it: forward in training mode (BN
 * layers record their statistic partials), loss with the gradient scaled by 1/(global batch),
 * backward, reduction of gradients and BN union statistics over the towers, the moving-statistic
 * update ("update ops"), then the optimizer. With one tower the reduction is the identity.
 *
 * <p>Non-finite steps: each tower tests its loss and gradients (one sum on the finite path) and
 * adds a flag to the same all-reduce; when any tower's values were NaN or Inf, no tower applies the
 * moving statistics or the optimizer update, and the result says so ({@link StepResult#skipped}),
 * with the tower where the values went bad first ({@link StepResult#culprit}: with SyncBN a NaN
 * spreads to every tower through the statistics) and, on that tower, where ({@link
 * StepResult#nonFinite}). Whether the run then stops or goes on is the caller's policy.
 *
 * <p>Memory: {@code x} is read, never kept; every buffer the step uses is preallocated by the
 * layers, the loss and the optimizer.
 */
public final class Tower {
  private final Model model;
  private final SoftmaxCrossEntropy loss;
  private final Optimizer optimizer;
  private double maxGradientNorm;
  private final Collective world;
  // One float64 flag reduced with the gradients: > 0 after the all-reduce when any tower's loss or
  // gradients were non-finite, so every tower takes the same decision without another round.
  private final INDArray nonFiniteTowers = Nd4j.zeros(DataType.DOUBLE, 1);
  // Null: one round after backward. Otherwise the gradients leave in buckets during backward.
  private final GradientBuckets buckets;
  // Gradient accumulation (training.accumulateSteps): the shard runs as this many micro-batches.
  private int microBatches = 1;
  // The micro-batches' gradient sum over the gradients backward writes (gradientTail, a view);
  // both null unless microBatches > 1.
  private INDArray accumulatedGradients;
  private INDArray gradientTail;

  /** A tower training alone (no collective). */
  public Tower(final Model model, final SoftmaxCrossEntropy loss, final Optimizer optimizer) {
    this(model, loss, optimizer, new InProcessGroup(1).member(0));
  }

  /**
   * A tower of a data-parallel group: {@code world} (all towers) reduces the gradients and BN union
   * statistics every step, overlapped with backward as {@link AllReduceOverlap#forWorld} decides
   * for this collective. SyncBN's group reducer travels in each step's {@link StepContext}.
   */
  public Tower(
      final Model model,
      final SoftmaxCrossEntropy loss,
      final Optimizer optimizer,
      final Collective world) {
    this(model, loss, optimizer, world, AllReduceOverlap.forWorld(world));
  }

  /**
   * A tower of a data-parallel group whose gradient all-reduce overlaps backward in buckets of
   * {@code bucketBytes} ({@link GradientBuckets}), or, with 0, runs in one round after backward
   * (also with one tower, a plan of one bucket, or on the CUDA backend: {@link
   * AllReduceOverlap#possible}). Either way the results are bit for bit the same.
   */
  public Tower(
      final Model model,
      final SoftmaxCrossEntropy loss,
      final Optimizer optimizer,
      final Collective world,
      final long bucketBytes) {
    this.model = Objects.requireNonNull(model, "model");
    this.loss = Objects.requireNonNull(loss, "loss");
    this.optimizer = Objects.requireNonNull(optimizer, "optimizer");
    this.world = Objects.requireNonNull(world, "world");
    if (bucketBytes < 0) {
      throw new IllegalArgumentException(
          "bucketBytes must be 0 (no overlap) or positive, got " + bucketBytes);
    }
    final GradientBuckets plan =
        bucketBytes > 0 && world.size() > 1 && AllReduceOverlap.possible()
            ? new GradientBuckets(model, world, bucketBytes, "tower-" + world.rank())
            : null;
    // One bucket would leave after backward anyway: the single round then costs less (no thread
    // hand-off, no extra round for the flag).
    this.buckets = plan != null && plan.bucketCount() > 1 ? plan : null;
  }

  /**
   * Clips every step's all-reduced gradient to global L2 norm {@code maxNorm} before the optimizer
   * ({@code training.clipGradNorm}; 0 = off). Every tower holds the same all-reduced gradient, so
   * every tower scales by the same factor, whatever the tower count.
   */
  public void clipGradientNorm(final double maxNorm) {
    if (!(maxNorm >= 0) || Double.isInfinite(maxNorm)) {
      throw new IllegalArgumentException("maxNorm must be finite and >= 0, got " + maxNorm);
    }
    this.maxGradientNorm = maxNorm;
  }

  /**
   * Runs every step's shard as {@code k} micro-batches ({@code training.accumulateSteps}; 1 = the
   * whole shard at once, the default): forward and backward per micro-batch, their gradients summed
   * here, then one all-reduce and one optimizer step, so activations need about 1/k of the memory
   * and the global batch and the step count stay the same. See {@link MicroBatches} for the split
   * and what BN does with micro-batches.
   *
   * <p>With {@code k > 1} the gradients travel in one round after the last micro-batch, never in
   * buckets during backward: a bucket may leave only once its sum over all k micro-batches is
   * final, which is during the last backward only, so overlap would hide at most 1/k of the
   * backward work, for a second summation order to keep bit-identical. Correctness first.
   */
  public void accumulateOver(final int k) {
    if (k < 1) {
      throw new IllegalArgumentException("micro-batches per step must be >= 1, got " + k);
    }
    this.microBatches = k;
    if (k > 1) {
      // Only what backward writes: a frozen prefix's gradients keep their values, as without
      // accumulation.
      final long from = model.gradientStart(model.firstLayerNeedingGradient());
      // Nothing trainable at all: a one-element placeholder (the buffer is never empty).
      final long to = Math.max(model.gradients().length(), from + 1);
      gradientTail =
          from < model.gradients().length()
              ? model.gradients().get(NDArrayIndex.interval(from, to))
              : Nd4j.create(model.gradients().dataType(), 1);
      accumulatedGradients = gradientTail.dup();
    } else {
      gradientTail = null;
      accumulatedGradients = null;
    }
  }

  /** The gradient buckets of this tower's steps, or null when the all-reduce is one round. */
  GradientBuckets buckets() {
    return buckets;
  }

  public Model model() {
    return model;
  }

  public Optimizer optimizer() {
    return optimizer;
  }

  /**
   * One training step on this tower's shard {@code x} ({@code [n, ...]}, n = shard size) with
   * {@code labels} ({@code n * positions} class indices). {@code x == null} is an empty shard: the
   * tower still joins every collective, with zero contributions.
   */
  public StepResult trainStep(
      final INDArray x, final int[] labels, final StepContext ctx, final double learningRate) {
    if (microBatches > 1) {
      return accumulatedStep(x, labels, ctx, learningRate);
    }
    // SyncBN's statistic all-reduces run inside forward and backward; when the context's reducer
    // is timed, their time is reported on its own and taken out of the two compute phases.
    final long bn0 = TimedStatsReducer.elapsedNanos(ctx.reducer());
    final long t0 = System.nanoTime();
    final MetricSums metrics;
    final long t1;
    final long bn1;
    if (buckets != null) {
      buckets.beginStep();
    }
    if (x == null || x.size(0) == 0) {
      model.joinStepWithoutSamples(ctx);
      metrics = MetricSums.ZERO;
      t1 = System.nanoTime();
      bn1 = TimedStatsReducer.elapsedNanos(ctx.reducer());
    } else {
      final INDArray logits = model.forward(x, ctx);
      metrics = loss.evaluate(logits, labels, ctx.globalBatch());
      t1 = System.nanoTime();
      bn1 = TimedStatsReducer.elapsedNanos(ctx.reducer());
      // With buckets, the gradients of the layers already done travel while earlier layers run.
      model.backward(
          loss.gradient().reshape('c', logits.shape()),
          ctx,
          buckets == null ? null : buckets.layerDone());
    }
    final boolean localNonFinite;
    if (buckets == null) {
      localNonFinite = !Double.isFinite(metrics.lossSum()) || NonFinite.any(model.gradients());
    } else {
      buckets.finishBackward(); // what is left (frozen prefix, or all of an empty shard's zeros)
      localNonFinite = !Double.isFinite(metrics.lossSum()) || buckets.localNonFinite();
    }
    final long t2 = System.nanoTime();
    final long bn2 = TimedStatsReducer.elapsedNanos(ctx.reducer());
    return reduceAndApply(
        metrics,
        localNonFinite,
        () -> NonFinite.locate(model, x, metrics.lossSum()),
        t1 - t0 - (bn1 - bn0),
        t2 - t1 - (bn2 - bn1),
        bn2 - bn0,
        learningRate);
  }

  /**
   * Steps 5 and 6 of the step contract, after this tower's forward and backward: the one all-reduce
   * of gradients, union statistics and the non-finite flag, then the moving statistics and the
   * optimizer, or nothing when any tower's values were non-finite ({@code where} says where on this
   * tower, asked only when {@code localNonFinite}).
   */
  private StepResult reduceAndApply(
      final MetricSums metrics,
      final boolean localNonFinite,
      final Supplier<NonFinite.Where> where,
      final long forwardNanos,
      final long backwardNanos,
      final long bnReduceNanos,
      final double learningRate) {
    final long t2 = System.nanoTime();
    nonFiniteTowers.putScalar(0, localNonFinite ? 1.0 : 0.0);
    // Gradients are already scaled by 1/(global batch): their SUM is the global gradient. The BN
    // union partials ride in the same round (or, with buckets, the round after the last bucket),
    // so the moving statistics see the whole batch. Either way, nothing is applied before every
    // tower's flag is in: t3 - t2 is the communication the step waits for (exposed).
    if (buckets == null || microBatches > 1) {
      world.allReduceSum(model.gradients(), model.unionStatistics(), nonFiniteTowers);
    } else {
      buckets.reduceAfterGradients(model.unionStatistics(), nonFiniteTowers);
      buckets.await();
    }
    final long t3 = System.nanoTime();
    final boolean skipped = nonFiniteTowers.getDouble(0) > 0;
    String described = "";
    int culprit = -1;
    if (skipped) {
      // Nothing of a non-finite step is applied: neither moving statistics nor parameters change.
      final NonFinite.Where local = localNonFinite ? where.get() : NonFinite.Where.FINITE;
      culprit = agreeOnCulprit(local.depth());
      described =
          culprit == world.rank()
              ? (local.description().isEmpty()
                  ? "the loss or gradient sum (no single layer found)"
                  : local.description())
              : "";
    } else {
      model.applyMovingStatistics();
      if (maxGradientNorm > 0) {
        GradientClipping.clip(model.gradients(), maxGradientNorm);
      }
      optimizer.step(model.parameters(), model.gradients(), learningRate);
    }
    final long t4 = System.nanoTime();
    return new StepResult(
        metrics,
        new PhaseTimes(0, forwardNanos, backwardNanos, bnReduceNanos, t3 - t2, t4 - t3),
        skipped,
        culprit,
        described);
  }

  /**
   * A step over {@link #microBatches} micro-batches of the shard ({@link MicroBatches}): each
   * forward (BN normalizing with that micro-batch's statistics, or with SyncBN the sync group's
   * union of its micro-batch) and backward; the gradients summed, the union statistics added up
   * over all of them (so the moving statistics are updated once, from the whole global batch); then
   * the one all-reduce and update of {@link #reduceAndApply}. Every tower runs every micro-batch,
   * an empty one joining its collectives, so the SyncBN rounds pair up.
   */
  private StepResult accumulatedStep(
      final INDArray x, final int[] labels, final StepContext ctx, final double learningRate) {
    final long bnStart = TimedStatsReducer.elapsedNanos(ctx.reducer());
    long forwardNanos = 0;
    long backwardNanos = 0;
    MetricSums metrics = MetricSums.ZERO;
    NonFinite.Where firstBad = null;
    final MicroBatches split = new MicroBatches(x == null ? 0 : (int) x.size(0), microBatches);
    model.unionStatistics().assign(0);
    accumulatedGradients.assign(0);
    for (int j = 0; j < microBatches; j++) {
      final StepContext micro =
          ctx.at(ctx.step(), ctx.shardOffset() + split.offset(j), ctx.globalBatch());
      if (split.size(j) == 0) {
        model.joinCollectivesWithoutSamples(micro); // adds nothing: zero partials, zero gradients
        continue;
      }
      final long bn0 = TimedStatsReducer.elapsedNanos(ctx.reducer());
      final long t0 = System.nanoTime();
      final INDArray xj = split.rows(x, j);
      final INDArray logits = model.forwardAddingStatistics(xj, micro);
      final MetricSums m =
          loss.evaluate(logits, split.labels(labels, loss.positions(), j), ctx.globalBatch());
      final long t1 = System.nanoTime();
      final long bn1 = TimedStatsReducer.elapsedNanos(ctx.reducer());
      model.backward(loss.gradient().reshape('c', logits.shape()), micro);
      final long t2 = System.nanoTime();
      final long bn2 = TimedStatsReducer.elapsedNanos(ctx.reducer());
      forwardNanos += t1 - t0 - (bn1 - bn0);
      backwardNanos += t2 - t1 - (bn2 - bn1);
      metrics = metrics.plus(m);
      // Where a NaN started can be told only now, while this micro-batch's outputs are alive; the
      // test is one sum over the gradients, as in a step without accumulation.
      if (firstBad == null && (!Double.isFinite(m.lossSum()) || NonFinite.any(model.gradients()))) {
        final NonFinite.Where w = NonFinite.locate(model, xj, m.lossSum());
        firstBad =
            new NonFinite.Where(
                w.depth(),
                (w.description().isEmpty() ? "the loss or gradient sum" : w.description())
                    + " (micro-batch "
                    + (j + 1)
                    + " of "
                    + microBatches
                    + ")");
      }
      // 1/(global batch) is already in every micro-batch's gradient: the sum is the shard's.
      accumulatedGradients.addi(gradientTail);
    }
    gradientTail.assign(accumulatedGradients);
    final NonFinite.Where where = firstBad;
    return reduceAndApply(
        metrics,
        where != null,
        () -> where,
        forwardNanos,
        backwardNanos,
        TimedStatsReducer.elapsedNanos(ctx.reducer()) - bnStart,
        learningRate);
  }

  /**
   * The tower where a non-finite step started: the smallest depth (earliest point in the step), the
   * lowest rank on a tie. One extra all-reduce, on this rare path only, that every tower takes
   * (they all saw the same flag), so all name the same tower.
   */
  private int agreeOnCulprit(final int localDepth) {
    final INDArray depths = Nd4j.zeros(DataType.DOUBLE, world.size());
    depths.putScalar(world.rank(), localDepth);
    world.allReduceSum(depths);
    int best = 0;
    for (int r = 1; r < world.size(); r++) {
      if (depths.getDouble(r) < depths.getDouble(best)) {
        best = r;
      }
    }
    return best;
  }

  /**
   * A precise-BN pass over this replica, reducing over the same world group as the steps (see
   * {@link PreciseBnTower}); call between steps, on the tower's thread.
   */
  public PreciseBnTower preciseBn() {
    return new PreciseBnTower(model, world);
  }

  /** Inference-mode forward and metrics: moving statistics, no dropout, no updates. */
  public MetricSums evaluate(final INDArray x, final int[] labels) {
    final INDArray logits = model.forward(x, StepContext.inference());
    return loss.evaluate(logits, labels, 0);
  }
}
