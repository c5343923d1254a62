package io.synctower.common.bn;

import io.synctower.common.comm.Collective;
import io.synctower.common.nn.Model;
import java.util.Objects;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Precise BN (Wu &amp; Johnson, "Rethinking 'Batch' in BatchNorm", 2021): replaces every trainable
 * BN layer's moving statistics with the exact population statistics of its inputs under the final
 * weights, instead of an exponential average over weights that kept changing.
 *
 * <pre>{@code
 * PreciseBn precise = new PreciseBn(model);
 * for (each of K batches, this tower's shard) {
 *   model.forward(shard, trainingContext);   // normalizes with batch statistics, as in training
 *   precise.accumulate();
 * }
 * precise.reduce(world);                     // every tower now holds the same totals
 * precise.apply();                           // moving = population mean, unbiased variance
 * }</pre>
 *
 * <p>Why it is exact and count-weighted: each training forward leaves float64 partials (count, sum,
 * sum of squares per channel) relative to a shift K, the moving mean, in {@link
 * Model#unionStatistics()}. The moving means do not change while accumulating, so K is the same for
 * every batch and every tower and the partials simply add: the totals are those of the union of all
 * samples, weighted by their counts whatever the batch or shard sizes. Earlier layers normalize
 * with batch statistics (the tower's shard, a ghost batch or the sync group, as the context says),
 * as they did in training, which is what the population statistics are meant to describe.
 *
 * <p>Frozen layers ({@code trainable: false}) are left alone; dropout runs as in training.
 */
public final class PreciseBn {
  private final Model model;
  private final INDArray totals;
  private long forwards;

  public PreciseBn(final Model model) {
    this.model = Objects.requireNonNull(model, "model");
    this.totals = Nd4j.zeros(DataType.DOUBLE, model.unionStatistics().length());
  }

  /** Adds the partials of the training-mode forward just run on this replica. */
  public void accumulate() {
    totals.addi(model.unionStatistics());
    forwards++;
  }

  /** Sums the totals over {@code group} (all towers), so every tower applies the same values. */
  public void reduce(final Collective group) {
    group.allReduceSum(totals);
  }

  /**
   * Replaces the moving statistics of every trainable BN layer with the population statistics of
   * the totals. Leaves {@link Model#unionStatistics()} holding the totals.
   *
   * @throws IllegalStateException if a trainable BN layer has no samples in the totals (nothing was
   *     accumulated, or every shard was empty)
   */
  public void apply() {
    long offset = 0;
    for (final BatchNorm bn : BatchNorm.layersOf(model)) {
      if (bn.trainable() && totals.getDouble(offset) <= 0) {
        throw new IllegalStateException(
            "precise BN saw no samples for layer '"
                + bn.name()
                + "' ("
                + forwards
                + " training forwards on this tower): nothing to apply");
      }
      offset += bn.partialsLength();
    }
    model.unionStatistics().assign(totals);
    model.replaceMovingStatistics();
  }

  /** The accumulated float64 totals, laid out like {@link Model#unionStatistics()}. */
  public INDArray totals() {
    return totals;
  }

  /** Training-mode forwards accumulated on this replica. */
  public long forwards() {
    return forwards;
  }
}
