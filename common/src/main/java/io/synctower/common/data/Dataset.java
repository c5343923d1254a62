package io.synctower.common.data;

/**
 * A finite, random-access set of labelled samples.
 *
 * <p>The caller's loop (a tower filling one shard of a global batch):
 *
 * <pre>{@code
 * int[] order = EpochPermutation.of(seed, epoch, dataset.size());
 * for (int i = 0; i < shardCount; i++) {
 *   dataset.sample(order[shardStart + i], pixels, labels, i * dataset.labelPositions());
 *   ... copy pixels into the batch tensor at row i ...
 * }
 * }</pre>
 *
 * <p>Pixels are written in height-width-channel order (NHWC without the N), which is the layout
 * SyncTower computes in; users see (C,H,W) in shapes and exported weights. Values are floats as the
 * model should see them before {@link Normalization} (for 8-bit images: value / 255).
 *
 * <p>Implementations must be deterministic (the same index always yields the same sample, on every
 * machine) and safe to call from several threads at once (each tower and its prefetcher call {@code
 * sample} concurrently with their own output arrays).
 */
public interface Dataset {
  /** Number of samples; indices are {@code 0 .. size()-1}. */
  int size();

  /** Shape of one sample, as the user sees it. */
  SampleShape sampleShape();

  /**
   * Label positions per sample: 1 for plain classification, 4 for a 4-character captcha. The
   * model's output must be {@code [labelPositions, numClasses]} per sample.
   */
  int labelPositions();

  /** Number of classes per label position; labels are in {@code 0 .. numClasses()-1}. */
  int numClasses();

  /**
   * Writes sample {@code index}: {@code sampleShape().elementCount()} floats into {@code pixelsHwc}
   * starting at 0, and {@code labelPositions()} class indices into {@code labels} starting at
   * {@code labelOffset}. Copies into the caller's arrays; allocates nothing that outlives the call.
   *
   * @throws IndexOutOfBoundsException if index is outside {@code 0 .. size()-1}
   * @throws DataException if the underlying data is unreadable or a label is out of range; the
   *     message names the source, the index and what was expected
   */
  void sample(int index, float[] pixelsHwc, int[] labels, int labelOffset);

  /**
   * Whether this dataset can give its values more precisely than float32: a float64 {@code .npz},
   * and 8-bit images (IDX, image folders, CIFAR), whose {@code value / 255} a float64 model takes
   * computed in double. A float64 model then reads them through {@link #sampleFloat64}, unrounded.
   * False for sources whose values are float32 already (float32 files, the synthetic sets).
   */
  default boolean holdsFloat64() {
    return false;
  }

  /**
   * As {@link #sample}, in double precision; only for a dataset that {@link #holdsFloat64()}.
   *
   * @throws UnsupportedOperationException for a dataset that does not hold float64 values
   */
  default void sampleFloat64(
      final int index, final double[] pixelsHwc, final int[] labels, final int labelOffset) {
    throw new UnsupportedOperationException(describe() + " holds float32 values: use sample");
  }

  /** A short description for logs, e.g. {@code "captcha(seed=1, n=20000, 80x120x1)"}. */
  String describe();
}
