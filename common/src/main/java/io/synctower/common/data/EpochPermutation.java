package io.synctower.common.data;

import java.util.SplittableRandom;

/**
 * The order in which an epoch visits a dataset: a seeded Fisher-Yates shuffle of {@code 0 ..
 * size-1}, identical on every machine and JVM for the same (seed, epoch, size).
 *
 * <p>Every tower computes the same permutation independently and takes its shard of each global
 * batch from it, so no index lists travel over the network:
 *
 * <pre>{@code
 * int[] order = EpochPermutation.of(seed, epoch, dataset.size());
 * BatchPlan plan = BatchPlan.shard(order, globalBatchSize, rank * shardSize, shardSize, true);
 * }</pre>
 *
 * <p>The generator is {@link SplittableRandom} (SplitMix64, Steele, Lea and Flood, "Fast Splittable
 * Pseudorandom Number Generators", OOPSLA 2014), seeded with the SplitMix64 finalizer applied to
 * {@code seed * 0x9E3779B97F4A7C15 + epoch}, so nearby seeds and epochs give unrelated streams.
 * Only integer arithmetic is involved.
 */
public final class EpochPermutation {
  /** 2^64 / golden ratio, the SplitMix64 increment ("gamma"). */
  private static final long GOLDEN_GAMMA = 0x9E3779B97F4A7C15L;

  private EpochPermutation() {}

  /**
   * Returns a new array holding a permutation of {@code 0 .. size-1}; the caller owns it.
   *
   * @throws IllegalArgumentException if size is negative
   */
  public static int[] of(final long seed, final long epoch, final int size) {
    if (size < 0) {
      throw new IllegalArgumentException(
          "permutation size must be >= 0, got "
              + size
              + " (seed="
              + seed
              + ", epoch="
              + epoch
              + ")");
    }
    final int[] order = new int[size];
    for (int i = 0; i < size; i++) {
      order[i] = i;
    }
    final SplittableRandom random = new SplittableRandom(mix64(seed * GOLDEN_GAMMA + epoch));
    // Durstenfeld's in-place Fisher-Yates: swap slot i with a uniform slot in 0..i.
    for (int i = size - 1; i > 0; i--) {
      final int j = random.nextInt(i + 1);
      final int t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
    return order;
  }

  /** The SplitMix64 output finalizer (variant 13 of Stafford's mixers): a bijection on longs. */
  static long mix64(final long value) {
    long z = value;
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }
}
