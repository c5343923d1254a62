package io.synctower.benchmarks;

/** Byte sizes of the bandwidth benchmarks as float32 element counts. */
final class Sizes {
  private Sizes() {}

  /**
   * Elements of a float32 buffer of {@code bytes}.
   *
   * @throws IllegalArgumentException unless {@code bytes} is a positive multiple of 4
   */
  static long floats(final long bytes) {
    if (bytes < 4 || bytes % 4 != 0) {
      throw new IllegalArgumentException(
          "bytes=" + bytes + ": need a positive multiple of 4 (float32 elements), e.g. 4096");
    }
    return bytes / 4;
  }
}
