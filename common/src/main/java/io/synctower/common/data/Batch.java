package io.synctower.common.data;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * One assembled batch handed out by {@link Prefetcher#next()}: a view of one of the prefetcher's
 * buffers, not a copy. Valid from {@code next()} until {@link #release()}; after that the
 * prefetcher refills the same buffer, so the caller must not read {@link #x()} or {@link #labels()}
 * any more (copy what must outlive the step).
 */
public final class Batch {
  private final Prefetcher owner;
  private final INDArray x;
  private final int[] labels;
  int count;
  int index;
  boolean held;

  Batch(final Prefetcher owner, final INDArray x, final int[] labels) {
    this.owner = owner;
    this.x = x;
    this.labels = labels;
  }

  /**
   * The batch tensor [rows, H, W, C] (the buffer itself); only rows {@code 0 .. count()-1} hold
   * this batch, later rows hold stale data when {@code count() < rows}.
   */
  public INDArray x() {
    return x;
  }

  /**
   * Labels, {@code labelPositions} per row; only the first {@code count() * positions} are valid.
   */
  public int[] labels() {
    return labels;
  }

  /** Number of valid rows. */
  public int count() {
    return count;
  }

  /** Index of this batch in the plan. */
  public int index() {
    return index;
  }

  /**
   * Gives the buffer back for the next prefetch. Call exactly once per batch, from the thread that
   * called {@code next()}.
   *
   * @throws IllegalStateException if the batch was already released
   */
  public void release() {
    owner.release(this);
  }
}
