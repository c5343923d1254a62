package io.synctower.common.comm;

import io.synctower.common.nn.Vectors;
import java.util.Objects;
import java.util.concurrent.Phaser;
import org.nd4j.linalg.api.buffer.DataType;
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
 * <p>Small all-reduces (at most {@link #SMALL_ELEMENTS} elements in all, e.g. SyncBN's statistics,
 * nine rounds of a few KiB per quick-start step) take one barrier instead of three: every member
 * copies its values into its own slot, waits once, and then computes every chunk itself from the
 * slots, in the same fixed order (so the bits are those of the three-barrier path). Each barrier is
 * a park and an unpark of a thread, and SyncBN's rounds sit between a tower's layers, where the
 * towers wait for each other anyway: two barriers fewer per round took 2 x 9 wake-ups out of every
 * step. Slots and published arguments alternate between two sets by call parity, so a member that
 * finished a call may write its next call's slot while a slower one still reads the last's: it
 * cannot get a third call ahead, since the next call's barrier waits for the slow member.
 *
 * <p>Threads: each member object is used by exactly one thread (its tower's); {@link #abort} may be
 * called from any thread. Memory: the published buffers are read by other members' threads only
 * between the barriers of a call; the barriers give the happens-before edges.
 */
public final class InProcessGroup {
  /**
   * Largest all-reduce, in elements over all its buffers, that takes the one-barrier path: every
   * member then reduces every element (size x the work of its own chunk), cheap against a barrier
   * up to some thousands of elements; SyncBN's largest round (2 x 2048 channels) fits.
   */
  static final int SMALL_ELEMENTS = 8192;

  private final int size;
  private final Phaser phaser;
  // By call parity, then member: the buffers and range each published; read between barriers only.
  private final INDArray[][][] published;
  private final long[][] publishedFrom;
  private final long[][] publishedTo;
  // By call parity, then member: the values of a small all-reduce, all buffers back to back.
  private final double[][][] slots;
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
    this.published = new INDArray[2][size][];
    this.publishedFrom = new long[2][size];
    this.publishedTo = new long[2][size];
    this.slots = new double[2][size][];
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

  private void validate(final int parity, final int nBuffers) {
    final INDArray[][] published = this.published[parity];
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

  private void validateRange(final int parity) {
    final long[] publishedFrom = this.publishedFrom[parity];
    final long[] publishedTo = this.publishedTo[parity];
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

    /** Collectives this member started; every member counts the same calls, so parities agree. */
    private long calls;

    /** One buffer's reduced values on the one-barrier path, before they are written back. */
    private final double[] sums = new double[SMALL_ELEMENTS];

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

    /** The parity of the call this member starts now; counts it. */
    private int nextParity() {
      return (int) (calls++ & 1);
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
      final int parity = nextParity();
      published[parity][rank] = buffers;
      publishedFrom[parity][rank] = from;
      publishedTo[parity][rank] = to;
      final boolean small = to < 0 && isSmall(buffers);
      if (small) {
        fillSlot(parity, buffers);
      }
      await();
      // Reads only lengths, types and ranges, and every member checks all members: all of them
      // throw, or none does, before anyone writes. Equal lengths and types on every member mean
      // every member took the same path.
      validate(parity, buffers.length);
      validateRange(parity);
      if (small) {
        reduceFromSlots(parity, buffers);
        return;
      }
      final INDArray[][] published = InProcessGroup.this.published[parity];
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

    /** Whether a whole-buffer all-reduce of these buffers takes the one-barrier path. */
    private boolean isSmall(final INDArray[] buffers) {
      long elements = 0;
      for (final INDArray b : buffers) {
        final DataType t = b.dataType();
        if (b.rank() != 1 || (t != DataType.DOUBLE && t != DataType.FLOAT)) {
          return false; // validation after the barrier names the problem
        }
        elements += b.length();
      }
      return elements <= SMALL_ELEMENTS;
    }

    /** Copies this member's buffers, back to back, into its slot of this parity. */
    private void fillSlot(final int parity, final INDArray[] buffers) {
      double[] slot = slots[parity][rank];
      if (slot == null) {
        slot = new double[SMALL_ELEMENTS]; // once per member and parity
        slots[parity][rank] = slot;
      }
      int at = 0;
      for (final INDArray b : buffers) {
        Vectors.read(b, slot, at);
        at += (int) b.length();
      }
    }

    /**
     * Every element of every buffer, each in the order of {@link Collective}: chunk c of a buffer
     * as {@code ((b_c + b_(c+1)) + ...) + b_(c-1)}. Float buffers round after every addition, as a
     * float addition does: a sum of two floats rounded to double and then to float is the float sum
     * (double has more than twice float's precision), so the bits equal the three-barrier path's.
     */
    private void reduceFromSlots(final int parity, final INDArray[] buffers) {
      final double[][] bySender = slots[parity];
      int at = 0;
      for (final INDArray b : buffers) {
        final int length = (int) b.length();
        final boolean isFloat = b.dataType() == DataType.FLOAT;
        final double[] sum = sums;
        for (int c = 0; c < size; c++) {
          final int lo = (int) Chunks.start(length, size, c);
          final int hi = (int) Chunks.start(length, size, c + 1);
          for (int e = lo; e < hi; e++) {
            double acc = bySender[c][at + e];
            for (int k = 1; k < size; k++) {
              acc += bySender[(c + k) % size][at + e];
              if (isFloat) {
                acc = (float) acc;
              }
            }
            sum[e] = acc;
          }
        }
        Vectors.write(sum, b);
        at += length;
      }
    }

    @Override
    public void broadcast(final INDArray buffer, final int root) {
      Objects.checkIndex(root, size);
      if (size == 1) {
        return;
      }
      final int parity = nextParity();
      published[parity][rank] = new INDArray[] {buffer};
      await();
      if (rank != root) {
        buffer.assign(published[parity][root][0]);
      }
      await();
    }

    @Override
    public void barrier() {
      if (size > 1) {
        nextParity();
        await();
      }
    }
  }
}
