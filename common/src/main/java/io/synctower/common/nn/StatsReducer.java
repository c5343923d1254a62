package io.synctower.common.nn;

import java.util.Objects;
import java.util.function.Consumer;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The one hook through which batch norm talks to other towers: an element-wise SUM of a small
 * float64 vector over the towers of the sync group, and where this tower sits in that group.
 *
 * <p>The caller's loop (inside {@link io.synctower.common.bn.BatchNorm}, once per SyncBN layer in
 * forward and once in backward):
 *
 * <pre>{@code
 * // forward: an all-gather written as a sum, each tower filling only its own slot
 * slots = zeros(reducer.groupSize() * slotLength);
 * slots[reducer.groupRank() * slotLength ...] = [count, centre_c..., S_c..., Q_c...];
 * reducer.sumInPlace(slots);                 // now every tower's slot, on every tower
 * // backward: the sync group's sums
 * reducer.sumInPlace(backwardSums);
 * }</pre>
 *
 * <p>Memory: {@code partials} is owned by the caller and overwritten in place with the sum; the
 * reducer must not keep a reference after returning. Every member of the group must call with a
 * vector of the same length in the same order, and every member must end with bit-identical values
 * (a fixed reduction order), so replicas stay identical. Called from the tower's own thread. BN
 * code sees no transport: threads, sockets and Aeron live behind this interface.
 *
 * <p>Not a functional interface on purpose: a reducer must say which member it is, because a gather
 * with a wrong rank or size would silently add two towers' statistics. {@link #of} builds one from
 * a group's rank, size and sum.
 */
public interface StatsReducer {
  /** Replaces {@code partials} (1-D, float64) by its element-wise sum over the sync group. */
  void sumInPlace(INDArray partials);

  /** How many towers the sync group has (1 for {@link #LOCAL}). */
  int groupSize();

  /** This tower's place in the sync group, {@code 0 .. groupSize() - 1}. */
  int groupRank();

  /** One tower, or BN that does not synchronize: the local values are already the sum. */
  StatsReducer LOCAL = of(0, 1, partials -> {});

  /**
   * A reducer for member {@code groupRank} of a sync group of {@code groupSize} towers whose
   * element-wise sum is {@code sum} (typically {@code group::allReduceSum} of the group's {@code
   * Collective}).
   *
   * @throws IllegalArgumentException if the rank is not in {@code [0, groupSize)}
   */
  static StatsReducer of(final int groupRank, final int groupSize, final Consumer<INDArray> sum) {
    Objects.requireNonNull(sum, "sum");
    if (groupSize < 1 || groupRank < 0 || groupRank >= groupSize) {
      throw new IllegalArgumentException(
          "sync group rank " + groupRank + " is not in [0, " + groupSize + ")");
    }
    return new StatsReducer() {
      @Override
      public void sumInPlace(final INDArray partials) {
        sum.accept(partials);
      }

      @Override
      public int groupSize() {
        return groupSize;
      }

      @Override
      public int groupRank() {
        return groupRank;
      }
    };
  }
}
