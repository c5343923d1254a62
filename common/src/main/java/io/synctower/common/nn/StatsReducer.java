package io.synctower.common.nn;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The one hook through which batch norm talks to other towers: an element-wise SUM of a small
 * float64 vector over the towers of the sync group.
 *
 * <p>The caller's loop (inside {@link BatchNorm}, once per BN layer per step in SyncBN mode):
 *
 * <pre>{@code
 * partials = [count, sum_c..., sumsq_c...]   // this tower's shard
 * reducer.sumInPlace(partials);              // now the sync group's union
 * }</pre>
 *
 * <p>Memory: {@code partials} is owned by the caller and overwritten in place with the sum; the
 * reducer must not keep a reference after returning. Every member of the group must call with a
 * vector of the same length in the same order, and every member must end with bit-identical values
 * (a fixed reduction order), so replicas stay identical. Called from the tower's own thread. BN
 * code sees no transport: threads, sockets and Aeron live behind this interface.
 */
@FunctionalInterface
public interface StatsReducer {
  /** Replaces {@code partials} (1-D, float64) by its element-wise sum over the sync group. */
  void sumInPlace(INDArray partials);

  /** One tower, or BN that does not synchronize: the local values are already the sum. */
  StatsReducer LOCAL = partials -> {};
}
