package io.synctower.common.comm;

import java.util.Objects;
import java.util.concurrent.Phaser;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * A group of towers that are threads of one JVM, and the {@link Collective} each of them uses.
 *
 * <pre>{@code
 * InProcessGroup world = new InProcessGroup(4);
 * // in tower r's own thread:
 * Collective c = world.member(r);
 * c.allReduceSum(gradients, unionStatistics);
 * // on failure, from any thread: world.abort(cause); every waiting member throws
 * }</pre>
 *
 * <p>How an all-reduce runs, with no copy and no scratch buffer: (1) every member publishes its
 * buffers and waits for the others; (2) member r sums chunk r of all members' buffers into chunk r
 * of its own buffer, in the fixed order of {@link Collective} (only member r reads or writes chunk
 * r of anyone's buffer in this phase), and waits; (3) member r copies every other chunk c from
 * member c's buffer, and waits, so no member changes its buffer while another still reads it. Three
 * barriers per call; the reduction itself runs on all members in parallel.
 *
 * <p>Threads: each member object is used by exactly one thread (its tower's); {@link #abort} may be
 * called from any thread. Memory: the published buffers are read by other members' threads only
 * between the barriers of a call; the barriers give the happens-before edges.
 */
public final class InProcessGroup {
  private final int size;
  private final Phaser phaser;
  private final INDArray[][] published;
  // Each member's range of allReduceSumRange ({@code [from, to)}); read between barriers only.
  private final long[] publishedFrom;
  private final long[] publishedTo;
  private final Member[] members;
  private volatile Throwable abortCause;

  /**
   * The last barrier phase every member arrived at. An abort terminates the phaser, and a member
   * that has not yet woken from a barrier that already completed would then see only the
   * termination; this tells it that its barrier (and so the collective) did complete.
   */
  private volatile int lastCompletedPhase = -1;

  public InProcessGroup(final int size) {
    if (size < 1) {
      throw new IllegalArgumentException("a group needs at least one member, got " + size);
    }
    this.size = size;
    this.phaser =
        new Phaser(size) {
          @Override
          protected boolean onAdvance(final int phase, final int registeredParties) {
            lastCompletedPhase = phase; // runs in the last arriving thread, before the release
            return false;
          }
        };
    this.published = new INDArray[size][];
    this.publishedFrom = new long[size];
    this.publishedTo = new long[size];
    this.members = new Member[size];
    for (int r = 0; r < size; r++) {
      members[r] = new Member(r);
    }
  }

  public int size() {
    return size;
  }

  /** The collective of member {@code rank}; use it from that member's thread only. */
  public Collective member(final int rank) {
    Objects.checkIndex(rank, size);
    return members[rank];
  }

  /**
   * Fails every collective of this group, now and later: members waiting in a barrier, and members
   * that enter one, throw {@link CollectiveAbortedException} with {@code cause}. Idempotent.
   */
  public void abort(final Throwable cause) {
    if (abortCause == null) {
      abortCause = cause;
    }
    phaser.forceTermination();
  }

  private void await() {
    final int phase = phaser.arrive();
    if (phase < 0) {
      throw aborted();
    }
    try {
      if (phaser.awaitAdvanceInterruptibly(phase) < 0 && lastCompletedPhase != phase) {
        throw aborted();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      abort(e);
      throw aborted();
    }
  }

  private CollectiveAbortedException aborted() {
    return new CollectiveAbortedException(
        "collective aborted: a tower of the group failed", abortCause);
  }

  private void validate(final int nBuffers) {
    for (int r = 0; r < size; r++) {
      final INDArray[] theirs = published[r];
      if (theirs.length != nBuffers) {
        throw new IllegalArgumentException(
            "members disagree on the collective: member "
                + r
                + " reduces "
                + theirs.length
                + " buffers, member 0 "
                + nBuffers);
      }
      for (int i = 0; i < nBuffers; i++) {
        final INDArray a = published[0][i];
        final INDArray b = theirs[i];
        if (b.length() != a.length() || b.dataType() != a.dataType() || b.rank() != 1) {
          throw new IllegalArgumentException(
              "buffer "
                  + i
                  + ": member "
                  + r
                  + " has "
                  + b.dataType()
                  + " rank "
                  + b.rank()
                  + " length "
                  + b.length()
                  + ", member 0 "
                  + a.dataType()
                  + " length "
                  + a.length()
                  + "; collectives take 1-D buffers of equal length and type on every member");
        }
      }
    }
  }

  private void validateRange() {
    for (int r = 1; r < size; r++) {
      if (publishedFrom[r] != publishedFrom[0] || publishedTo[r] != publishedTo[0]) {
        throw new IllegalArgumentException(
            "members disagree on the collective: member "
                + r
                + " reduces elements ["
                + publishedFrom[r]
                + ", "
                + publishedTo[r]
                + "), member 0 ["
                + publishedFrom[0]
                + ", "
                + publishedTo[0]
                + "); every member reduces the same range");
      }
    }
  }

  private final class Member implements Collective {
    private final int rank;

    Member(final int rank) {
      this.rank = rank;
    }

    @Override
    public int rank() {
      return rank;
    }

    @Override
    public int size() {
      return size;
    }

    @Override
    public void allReduceSum(final INDArray... buffers) {
      reduce(buffers, 0, -1);
    }

    /**
     * {@inheritDoc}
     *
     * <p>Member r sums the part of the whole buffer's chunk r that lies in the range, so the
     * association per element is the one of {@link #allReduceSum}.
     */
    @Override
    public void allReduceSumRange(final INDArray buffer, final long from, final long to) {
      Chunks.checkRange(buffer.length(), from, to);
      // A fresh array, not a reused one: a member that fails validation returns while the others
      // may still read what it published.
      reduce(new INDArray[] {buffer}, from, to);
    }

    /**
     * All of every buffer ({@code from = 0, to = -1}), or {@code [from, to)} of a single buffer.
     */
    private void reduce(final INDArray[] buffers, final long from, final long to) {
      if (abortCause != null || phaser.isTerminated()) {
        throw aborted();
      }
      if (size == 1) {
        return;
      }
      published[rank] = buffers;
      publishedFrom[rank] = from;
      publishedTo[rank] = to;
      await();
      // Reads only lengths, types and ranges, and every member checks all members: all of them
      // throw, or none does, before anyone writes.
      validate(buffers.length);
      validateRange();
      for (int i = 0; i < buffers.length; i++) {
        final long length = buffers[i].length();
        final long lo = Chunks.startIn(length, size, rank, from, to);
        final long hi = Chunks.startIn(length, size, rank + 1, from, to);
        if (hi > lo) {
          final INDArray mine = buffers[i].get(NDArrayIndex.interval(lo, hi));
          for (int k = 1; k < size; k++) {
            mine.addi(published[(rank + k) % size][i].get(NDArrayIndex.interval(lo, hi)));
          }
        }
      }
      await();
      for (int i = 0; i < buffers.length; i++) {
        final long length = buffers[i].length();
        for (int c = 0; c < size; c++) {
          final long lo = Chunks.startIn(length, size, c, from, to);
          final long hi = Chunks.startIn(length, size, c + 1, from, to);
          if (c != rank && hi > lo) {
            buffers[i]
                .get(NDArrayIndex.interval(lo, hi))
                .assign(published[c][i].get(NDArrayIndex.interval(lo, hi)));
          }
        }
      }
      await();
    }

    @Override
    public void broadcast(final INDArray buffer, final int root) {
      Objects.checkIndex(root, size);
      if (size == 1) {
        return;
      }
      published[rank] = new INDArray[] {buffer};
      await();
      if (rank != root) {
        buffer.assign(published[root][0]);
      }
      await();
    }

    @Override
    public void barrier() {
      if (size > 1) {
        await();
      }
    }
  }
}
