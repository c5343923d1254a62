package io.synctower.common.data;

import java.util.Arrays;

/**
 * {@code n} tiny images that a working trainer must memorise: image {@code i} is 29 x 29 x 3 zeros
 * with a centred 9 x 9 patch of value {@code i / 255} in every channel, and its label is {@code i}.
 * Reproduces the "cannot overfit 256 images" report: any correct model and optimizer reaches 100%
 * training accuracy; a trainer that does not has a bug.
 *
 * <p>Holds no sample data; {@link #sample} writes into the caller's arrays. Immutable and
 * thread-safe.
 */
public final class OverfitDataset implements Dataset {
  /** Image side in pixels. */
  public static final int SIDE = 29;

  /** Channels per pixel. */
  public static final int CHANNELS = 3;

  /** Side of the centred patch that carries the label. */
  public static final int PATCH = 9;

  /** Default number of images, from the user report. */
  public static final int DEFAULT_SIZE = 256;

  private static final SampleShape SHAPE = new SampleShape(CHANNELS, SIDE, SIDE);

  private final int size;

  /** {@link #DEFAULT_SIZE} images. */
  public OverfitDataset() {
    this(DEFAULT_SIZE);
  }

  /**
   * {@code size} images, one class each.
   *
   * @throws IllegalArgumentException if size is not in 1..256 (patch values are i/255 <= 1)
   */
  public OverfitDataset(final int size) {
    if (size <= 0 || size > 256) {
      throw new IllegalArgumentException(
          "overfit dataset size must be in 1..256 (patch value i/255 must stay <= 1), got " + size);
    }
    this.size = size;
  }

  @Override
  public int size() {
    return size;
  }

  @Override
  public SampleShape sampleShape() {
    return SHAPE;
  }

  @Override
  public int labelPositions() {
    return 1;
  }

  @Override
  public int numClasses() {
    return size;
  }

  @Override
  public void sample(
      final int index, final float[] pixelsHwc, final int[] labels, final int labelOffset) {
    if (index < 0 || index >= size) {
      throw new IndexOutOfBoundsException(
          describe() + ": sample index " + index + " outside 0.." + (size - 1));
    }
    Arrays.fill(pixelsHwc, 0, SHAPE.elementCount(), 0f);
    final float value = index / 255f;
    final int start = (SIDE - PATCH) / 2;
    for (int y = start; y < start + PATCH; y++) {
      final int row = (y * SIDE + start) * CHANNELS;
      Arrays.fill(pixelsHwc, row, row + PATCH * CHANNELS, value);
    }
    labels[labelOffset] = index;
  }

  @Override
  public String describe() {
    return "overfit(n=" + size + ", " + SHAPE + ")";
  }
}
