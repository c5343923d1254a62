package io.synctower.common.data;

import java.util.Objects;

/**
 * Which dataset indices go into each batch of one epoch for one tower: the epoch's order, cut into
 * global batches of {@code globalBatchSize}, of which this tower takes the slice {@code
 * [shardOffset, shardOffset + shardSize)} of each.
 *
 * <pre>{@code
 * int[] order = EpochPermutation.of(seed, epoch, dataset.size());
 * BatchPlan plan = BatchPlan.shard(order, 256, rank * 64, 64, true); // 4 towers of 64
 * for (int b = 0; b < plan.batchCount(); b++) {
 *   assembler.fill(plan.order(), plan.from(b), plan.count(b), x, labels);
 * }
 * }</pre>
 *
 * <p>The factories copy {@code order}; {@link #order()} returns the plan's own array (no copy),
 * which callers must not modify. Immutable and thread-safe.
 */
public final class BatchPlan {
  private final int[] order;
  private final int globalBatchSize;
  private final int shardOffset;
  private final int shardSize;
  private final int batchCount;

  private BatchPlan(
      final int[] order,
      final int globalBatchSize,
      final int shardOffset,
      final int shardSize,
      final boolean dropLast) {
    Objects.requireNonNull(order, "order");
    if (globalBatchSize <= 0) {
      throw new IllegalArgumentException("globalBatchSize must be > 0, got " + globalBatchSize);
    }
    if (shardSize <= 0 || shardOffset < 0 || shardOffset + shardSize > globalBatchSize) {
      throw new IllegalArgumentException(
          "shard ["
              + shardOffset
              + ", "
              + (shardOffset + shardSize)
              + ") must be a non-empty slice of the global batch [0, "
              + globalBatchSize
              + ")");
    }
    this.order = order.clone();
    this.globalBatchSize = globalBatchSize;
    this.shardOffset = shardOffset;
    this.shardSize = shardSize;
    this.batchCount =
        dropLast
            ? order.length / globalBatchSize
            : (order.length + globalBatchSize - 1) / globalBatchSize;
  }

  /**
   * A single-tower plan: consecutive batches of {@code batchSize}; with {@code dropLast} a final
   * partial batch is skipped, otherwise it is a shorter batch.
   */
  public static BatchPlan of(final int[] order, final int batchSize, final boolean dropLast) {
    return new BatchPlan(order, batchSize, 0, batchSize, dropLast);
  }

  /**
   * One tower's share of a data-parallel epoch. Without {@code dropLast}, the final partial global
   * batch gives this shard {@code max(0, min(shardSize, remaining - shardOffset))} samples, which
   * may be 0.
   */
  public static BatchPlan shard(
      final int[] order,
      final int globalBatchSize,
      final int shardOffset,
      final int shardSize,
      final boolean dropLast) {
    return new BatchPlan(order, globalBatchSize, shardOffset, shardSize, dropLast);
  }

  /** Number of batches in the epoch. */
  public int batchCount() {
    return batchCount;
  }

  /** The largest {@link #count}: rows a batch buffer needs. */
  public int maxBatchSize() {
    return shardSize;
  }

  /** The epoch order this plan slices (the plan's own array, not a copy; do not modify). */
  public int[] order() {
    return order;
  }

  /** Position in {@link #order()} of batch {@code batch}'s first sample. */
  public int from(final int batch) {
    checkBatch(batch);
    return batch * globalBatchSize + shardOffset;
  }

  /** Number of samples in batch {@code batch}, 0..{@link #maxBatchSize()}. */
  public int count(final int batch) {
    checkBatch(batch);
    final int globalCount = Math.min(globalBatchSize, order.length - batch * globalBatchSize);
    return Math.max(0, Math.min(shardSize, globalCount - shardOffset));
  }

  private void checkBatch(final int batch) {
    if (batch < 0 || batch >= batchCount) {
      throw new IndexOutOfBoundsException(
          "batch " + batch + " outside 0.." + (batchCount - 1) + " of this plan");
    }
  }
}
