package io.synctower.common.data;

/**
 * Training-time augmentation of image samples, the CIFAR recipe of torchvision's {@code
 * RandomCrop(size, padding=p)} then {@code RandomHorizontalFlip()}: the sample is zero-padded by
 * {@code cropPadding} pixels on every side, a window of the sample's own size is cut from a
 * uniformly drawn position (top and left each in {@code 0 .. 2p}), and the window is mirrored
 * left-right with probability 1/2. Padding is zeros in pixel space, before {@link Normalization},
 * so a padded pixel enters the batch as {@code -mean[c] / std[c]}, as torchvision's pad then
 * normalize gives.
 *
 * <p>The draws of a sample come from {@link #epoch}: a pure function of (seed, epoch, the sample's
 * index in the training set), never a shared random stream. So any tower count, worker processes or
 * threads, prefetching and a resume in the middle of an epoch see the same augmented batches.
 *
 * <pre>{@code
 * Augmentation aug = new Augmentation(4, true);            // from data.augment
 * AugmentedEpoch e = aug.epoch(seed, epoch);               // once per epoch
 * e.apply(pixels, augmented, shape, index);                // per sample, no allocation
 * }</pre>
 *
 * @param cropPadding zero padding on each side before the random crop; 0 = no crop (the window is
 *     the image itself)
 * @param flip whether to mirror left-right with probability 1/2
 */
public record Augmentation(int cropPadding, boolean flip) {
  /** Keeps augmentation streams apart from the epoch permutations of the same seed. */
  private static final long SALT = 0x4155_474D_454E_5453L; // "AUGMENTS"

  public Augmentation {
    if (cropPadding < 0) {
      throw new IllegalArgumentException("crop padding must be >= 0, got " + cropPadding);
    }
  }

  /** Whether this augmentation changes any sample. */
  public boolean changesSamples() {
    return cropPadding > 0 || flip;
  }

  /**
   * Checks that a crop window can hold image pixels: padding at most {@code min(H, W) - 1}.
   *
   * @throws IllegalArgumentException naming the padding, the shape and the largest padding allowed
   */
  public void checkCompatible(final SampleShape shape) {
    final int limit = Math.min(shape.height(), shape.width()) - 1;
    if (cropPadding > limit) {
      throw new IllegalArgumentException(
          "crop padding "
              + cropPadding
              + " is too large for samples of "
              + shape
              + " (HxWxC); use at most "
              + limit
              + " (min(height, width) - 1)");
    }
  }

  /**
   * The draws of training epoch {@code epoch} of a run seeded {@code seed}; precise BN's passes
   * have theirs from {@link PreciseBnBatches#augmentation}.
   */
  public AugmentedEpoch epoch(final long seed, final long epoch) {
    final long stream = EpochPermutation.mix64((seed ^ SALT) * 0x9E3779B97F4A7C15L + epoch);
    return new AugmentedEpoch(this, stream);
  }

  /**
   * Writes the crop at ({@code top}, {@code left}) of the zero-padded HWC sample {@code source},
   * mirrored when {@code mirror}, into {@code target} (the same shape): {@code target[y][x] =
   * source[y + top - p][x' + left - p]} with {@code x' = mirror ? W-1-x : x}, zero outside the
   * source. One pass over the target; nothing allocated.
   */
  public void crop(
      final float[] source,
      final float[] target,
      final SampleShape shape,
      final int top,
      final int left,
      final boolean mirror) {
    checkPlacement(shape, top, left);
    final int h = shape.height();
    final int w = shape.width();
    final int c = shape.channels();
    final int dx = left - cropPadding;
    final int dy = top - cropPadding;
    for (int y = 0; y < h; y++) {
      final int sy = y + dy;
      final int rowOut = y * w * c;
      if (sy < 0 || sy >= h) {
        java.util.Arrays.fill(target, rowOut, rowOut + w * c, 0f);
        continue;
      }
      final int rowIn = sy * w * c;
      for (int x = 0; x < w; x++) {
        final int sx = (mirror ? w - 1 - x : x) + dx;
        final int out = rowOut + x * c;
        if (sx < 0 || sx >= w) {
          for (int k = 0; k < c; k++) {
            target[out + k] = 0f;
          }
        } else {
          System.arraycopy(source, rowIn + sx * c, target, out, c);
        }
      }
    }
  }

  /** As {@link #crop(float[], float[], SampleShape, int, int, boolean)}, in double precision. */
  public void crop(
      final double[] source,
      final double[] target,
      final SampleShape shape,
      final int top,
      final int left,
      final boolean mirror) {
    checkPlacement(shape, top, left);
    final int h = shape.height();
    final int w = shape.width();
    final int c = shape.channels();
    final int dx = left - cropPadding;
    final int dy = top - cropPadding;
    for (int y = 0; y < h; y++) {
      final int sy = y + dy;
      final int rowOut = y * w * c;
      if (sy < 0 || sy >= h) {
        java.util.Arrays.fill(target, rowOut, rowOut + w * c, 0.0);
        continue;
      }
      final int rowIn = sy * w * c;
      for (int x = 0; x < w; x++) {
        final int sx = (mirror ? w - 1 - x : x) + dx;
        final int out = rowOut + x * c;
        if (sx < 0 || sx >= w) {
          for (int k = 0; k < c; k++) {
            target[out + k] = 0.0;
          }
        } else {
          System.arraycopy(source, rowIn + sx * c, target, out, c);
        }
      }
    }
  }

  private void checkPlacement(final SampleShape shape, final int top, final int left) {
    final int max = 2 * cropPadding;
    if (top < 0 || top > max || left < 0 || left > max) {
      throw new IllegalArgumentException(
          "crop at top="
              + top
              + ", left="
              + left
              + " outside 0.."
              + max
              + " for padding "
              + cropPadding
              + " of "
              + shape);
    }
  }

  @Override
  public String toString() {
    return "Augmentation(cropPadding=" + cropPadding + ", flip=" + flip + ")";
  }
}
