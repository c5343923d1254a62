package io.synctower.worker;

import io.synctower.common.bn.BatchNorm;
import io.synctower.common.bn.PreciseBn;
import io.synctower.common.bn.StatisticsGap;
import io.synctower.common.comm.Collective;
import io.synctower.common.nn.Model;
import io.synctower.common.nn.StepContext;
import io.synctower.common.protocol.Report;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Precise BN on one tower of a group (Wu &amp; Johnson, "Rethinking 'Batch' in BatchNorm", 2021;
 * the statistics are {@link PreciseBn}'s): training-mode forwards of this tower's shards with the
 * run's own step context, so every BN layer sees its input exactly as a training step builds it
 * (local, ghost or SyncBN statistics through the sync group), then one all-reduce of the float64
 * totals over all towers and the replacement of the moving statistics.
 *
 * <pre>{@code
 * PreciseBnTower r = tower.preciseBn();                 // remembers the old statistics
 * for (int j = 0; j < k; j++) {
 *   r.forward(shardOrNull, context.at(-1 - j, shardOffset, globalBatch));
 * }
 * List<Report.Movement> moved = r.finish();                // reduce, replace, measure
 * }</pre>
 *
 * <p>Nothing else changes: no backward, no gradient, no optimizer step, no moving-average update,
 * so the parameters and the optimizer state stay bit for bit as they were. Every tower makes the
 * same collective calls in the same order (a tower whose shard is empty joins them with zero
 * counts), and every tower applies the same reduced totals, so the replicas stay identical.
 *
 * <p>Memory: the forwards use the layers' preallocated buffers; the old statistics are copied once
 * at construction (a few doubles per channel). One instance per recalibration, on the tower's
 * thread.
 */
public final class PreciseBnTower {
  private final Model model;
  private final Collective world;
  private final PreciseBn precise;
  private final double[][] oldMean;
  private final double[][] oldVar;
  private long samples;

  PreciseBnTower(final Model model, final Collective world) {
    this.model = Objects.requireNonNull(model, "model");
    this.world = Objects.requireNonNull(world, "world");
    this.precise = new PreciseBn(model);
    final List<BatchNorm> bns = BatchNorm.layersOf(model);
    this.oldMean = new double[bns.size()][];
    this.oldVar = new double[bns.size()][];
    for (int i = 0; i < bns.size(); i++) {
      oldMean[i] = movingMean(bns.get(i));
      oldVar[i] = movingVar(bns.get(i));
    }
  }

  /**
   * One training-mode forward of this tower's shard {@code x} ({@code [n, ...]}), accumulated. A
   * null or empty {@code x} is an empty shard: the tower still joins every BN collective of the
   * forward, with zero counts.
   *
   * @throws IllegalArgumentException if {@code ctx} is an inference context
   */
  public void forward(final INDArray x, final StepContext ctx) {
    if (!ctx.training()) {
      throw new IllegalArgumentException("precise BN needs training-mode forwards (batch stats)");
    }
    if (x == null || x.size(0) == 0) {
      model.joinForwardWithoutSamples(ctx);
      return;
    }
    model.forward(x, ctx);
    precise.accumulate();
    samples += x.size(0);
  }

  /** Samples this tower forwarded so far. */
  public long samples() {
    return samples;
  }

  /**
   * Sums the totals over all towers, replaces the moving statistics of every trainable BN layer and
   * says how far each BN layer's statistics moved, in the model's order (frozen layers: 0 and 1).
   *
   * @throws IllegalStateException if a trainable BN layer saw no sample on any tower
   */
  public List<Report.Movement> finish() {
    precise.reduce(world);
    precise.apply();
    final List<BatchNorm> bns = BatchNorm.layersOf(model);
    final List<Report.Movement> moved = new ArrayList<>(bns.size());
    for (int i = 0; i < bns.size(); i++) {
      moved.add(movement(bns.get(i), oldMean[i], oldVar[i]));
    }
    return moved;
  }

  /** How far the statistics moved: mean in old standard deviations, variance as a factor. */
  private Report.Movement movement(final BatchNorm bn, final double[] mean0, final double[] var0) {
    final StatisticsGap gap =
        StatisticsGap.between(movingMean(bn), movingVar(bn), mean0, var0, bn.epsilon());
    return new Report.Movement(gap.meanShift(), gap.varianceRatio());
  }

  private double[] movingMean(final BatchNorm bn) {
    return model.tensor(bn.name() + ".running_mean").toDoubleVector();
  }

  private double[] movingVar(final BatchNorm bn) {
    return model.tensor(bn.name() + ".running_var").toDoubleVector();
  }
}
