package io.synctower.common.data;

/**
 * How a global batch of {@code total} samples is split over {@code towers} towers: contiguous
 * shards, the first {@code total % towers} one sample larger (64 on 3 towers: 22/21/21). A shard is
 * empty when the batch is smaller than the tower count. Every weight in a step is a sample count,
 * so uneven shards are exact.
 */
public final class Shards {
  private Shards() {}

  /** Position of tower {@code rank}'s first sample in the global batch. */
  public static int offset(final int total, final int towers, final int rank) {
    check(total, towers, rank);
    final int base = total / towers;
    return rank * base + Math.min(rank, total % towers);
  }

  /** Number of samples of tower {@code rank}. */
  public static int size(final int total, final int towers, final int rank) {
    check(total, towers, rank);
    return total / towers + (rank < total % towers ? 1 : 0);
  }

  private static void check(final int total, final int towers, final int rank) {
    if (total < 0 || towers < 1 || rank < 0 || rank >= towers) {
      throw new IllegalArgumentException(
          "shard of tower " + rank + " of " + towers + " for " + total + " samples");
    }
  }
}
