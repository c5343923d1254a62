package io.synctower.worker;

import io.synctower.common.comm.Collective;
import io.synctower.common.comm.InProcessGroup;
import io.synctower.common.nn.Model;
import io.synctower.common.nn.SoftmaxCrossEntropy;
import io.synctower.common.nn.StepContext;
import io.synctower.common.optim.Optimizer;
import java.util.Objects;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * One model replica and the step it executes: DESIGN.md's step contract for one tower.
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
 * <p>Memory: {@code x} is read, never kept; every buffer the step uses is preallocated by the
 * layers, the loss and the optimizer.
 */
public final class Tower {
  private final Model model;
  private final SoftmaxCrossEntropy loss;
  private final Optimizer optimizer;
  private final Collective world;

  /** A tower training alone (no collective). */
  public Tower(final Model model, final SoftmaxCrossEntropy loss, final Optimizer optimizer) {
    this(model, loss, optimizer, new InProcessGroup(1).member(0));
  }

  /**
   * A tower of a data-parallel group: {@code world} (all towers) reduces the gradients and BN union
   * statistics every step. SyncBN's group reducer travels in each step's {@link StepContext}.
   */
  public Tower(
      final Model model,
      final SoftmaxCrossEntropy loss,
      final Optimizer optimizer,
      final Collective world) {
    this.model = Objects.requireNonNull(model, "model");
    this.loss = Objects.requireNonNull(loss, "loss");
    this.optimizer = Objects.requireNonNull(optimizer, "optimizer");
    this.world = Objects.requireNonNull(world, "world");
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
    final long t0 = System.nanoTime();
    final SoftmaxCrossEntropy.Result metrics;
    final long t1;
    if (x == null || x.size(0) == 0) {
      model.joinStepWithoutSamples(ctx);
      metrics = EMPTY;
      t1 = System.nanoTime();
    } else {
      final INDArray logits = model.forward(x, ctx);
      metrics = loss.evaluate(logits, labels, ctx.globalBatch());
      t1 = System.nanoTime();
      model.backward(loss.gradient().reshape('c', logits.shape()), ctx);
    }
    final long t2 = System.nanoTime();
    // Gradients are already scaled by 1/(global batch): their SUM is the global gradient. The BN
    // union partials ride in the same round, so the moving statistics see the whole batch.
    world.allReduceSum(model.gradients(), model.unionStatistics());
    final long t3 = System.nanoTime();
    model.applyMovingStatistics();
    optimizer.step(model.parameters(), model.gradients(), learningRate);
    final long t4 = System.nanoTime();
    return new StepResult(metrics, t1 - t0, t2 - t1, t3 - t2, t4 - t3);
  }

  private static final SoftmaxCrossEntropy.Result EMPTY =
      new SoftmaxCrossEntropy.Result(0, 0, 0, 0);

  /** Inference-mode forward and metrics: moving statistics, no dropout, no updates. */
  public SoftmaxCrossEntropy.Result evaluate(final INDArray x, final int[] labels) {
    final INDArray logits = model.forward(x, StepContext.inference());
    return loss.evaluate(logits, labels, 0);
  }
}
