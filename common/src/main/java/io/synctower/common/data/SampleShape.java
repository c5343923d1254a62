package io.synctower.common.data;

/**
 * Shape of one input sample as users see it: channels, height, width. Flat feature vectors are
 * {@code (features, 1, 1)}.
 */
public record SampleShape(int channels, int height, int width) {
  public SampleShape {
    if (channels <= 0 || height <= 0 || width <= 0) {
      throw new IllegalArgumentException(
          "sample shape must be positive in every dimension, got (C,H,W)=("
              + channels
              + ","
              + height
              + ","
              + width
              + ")");
    }
  }

  /** Number of values in one sample. */
  public int elementCount() {
    return channels * height * width;
  }

  @Override
  public String toString() {
    return height + "x" + width + "x" + channels;
  }
}
