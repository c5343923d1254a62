package io.synctower.common.comm;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Collective operations over the members of one group of towers (all towers, or one SyncBN sync
 * group). Every member calls the same operations in the same order with buffers of the same lengths
 * and data types; a member that does not take part makes the others wait (or, once the group is
 * aborted, fail with {@link CollectiveAbortedException}).
 *
 * <p>The caller's loop (each tower's own thread, once per step):
 *
 * <pre>{@code
 * world.allReduceSum(model.gradients(), model.unionStatistics()); // one round for both
 * }</pre>
 *
 * <p>Reduction order is fixed, so results are bit-identical on every member and from run to run:
 * each buffer is cut into {@link #size()} contiguous chunks ({@link Chunks}); chunk {@code c} is
 * summed as {@code ((b_c + b_(c+1)) + b_(c+2)) + ... + b_(c-1)} (ranks modulo the size), which is
 * the order a ring reduce-scatter produces, so the in-process and the networked implementations
 * agree bit for bit.
 *
 * <p>Buffers: 1-D (or any C-order array, treated as flat), owned by the caller, read and
 * overwritten in place; no reference is kept after a call returns. Implementations allocate nothing
 * per call on the steady path.
 */
public interface Collective {
  /** This member's rank in the group, 0..size-1. */
  int rank();

  /** Number of members. */
  int size();

  /**
   * Replaces each buffer by its element-wise sum over the group, all buffers in one round.
   *
   * @throws CollectiveAbortedException if the group was aborted (a member failed)
   * @throws IllegalArgumentException on every member if the members' buffers do not match
   */
  void allReduceSum(INDArray... buffers);

  /**
   * Replaces elements {@code [from, to)} of {@code buffer} by their element-wise sum over the
   * group, each element summed in exactly the order {@link #allReduceSum} gives it on the whole
   * buffer: the chunks are those of the whole buffer ({@link Chunks} of {@code buffer.length()}),
   * cut to the range. So a buffer reduced range by range, split anywhere, ends bit for bit as one
   * {@code allReduceSum(buffer)} leaves it: gradient buckets sent during backward ({@code
   * io.synctower.worker.GradientBuckets}) rely on it. Elements outside the range are neither read
   * nor written.
   *
   * <p>Every member passes the same range of a buffer of the same length and type.
   *
   * @throws IllegalArgumentException on every member if the members' buffers or ranges do not match
   *     (where the implementation can see it), and at once for a range outside the buffer
   */
  void allReduceSumRange(INDArray buffer, long from, long to);

  /** Copies {@code root}'s buffer into every other member's buffer. */
  void broadcast(INDArray buffer, int root);

  /** Returns once every member has called it. */
  void barrier();
}
