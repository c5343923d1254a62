package io.synctower.worker;

import io.synctower.common.data.Shards;
import java.util.Arrays;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * How a tower's shard of {@code n} samples splits into {@code k} micro-batches for gradient
 * accumulation: contiguous runs by the rule that splits a global batch into shards ({@link
 * Shards}), the first {@code n % k} one sample larger (a shard of 22 in 4 micro-batches: 6/6/5/5).
 * Micro-batch j of tower r therefore holds the global positions from its shard offset + {@link
 * #offset}(j), so dropout masks (functions of the global position) are those of the same samples
 * without accumulation.
 *
 * <p>BN with micro-batches: each micro-batch is normalized with its own statistics (with SyncBN:
 * the sync group's union of that micro-batch, reduced micro-batch by micro-batch), as ghost BN with
 * virtual batches of the micro-batch size; the moving statistics are updated once per optimizer
 * step from the union of all micro-batches of all towers (the whole global batch).
 *
 * <p>Micro-batches are empty only where the shard is smaller than k (a config allowing empty
 * shards); an empty one adds nothing but joins its collectives.
 */
final class MicroBatches {
  private final int n;
  private final int k;

  MicroBatches(final int n, final int k) {
    if (n < 0 || k < 1) {
      throw new IllegalArgumentException(n + " samples in " + k + " micro-batches");
    }
    this.n = n;
    this.k = k;
  }

  /** Position of micro-batch {@code j}'s first sample inside the shard. */
  int offset(final int j) {
    return Shards.offset(n, k, j);
  }

  /** Number of samples of micro-batch {@code j}. */
  int size(final int j) {
    return Shards.size(n, k, j);
  }

  /** Micro-batch {@code j}'s rows of the shard {@code x}: a view, no copy. */
  INDArray rows(final INDArray x, final int j) {
    return x.get(NDArrayIndex.interval(offset(j), offset(j) + size(j)));
  }

  /** Micro-batch {@code j}'s labels, {@code positions} per sample as in the shard's array. */
  int[] labels(final int[] shardLabels, final int positions, final int j) {
    return Arrays.copyOfRange(
        shardLabels, offset(j) * positions, (offset(j) + size(j)) * positions);
  }
}
