package io.synctower.common.data;

import java.util.Arrays;

/**
 * What a {@code .npy} header declares: the element type, the shape and where the data starts. Read
 * on its own (without the data) so callers can check the declared size against what they expect,
 * the file's length and the memory there is, before anything large is allocated.
 *
 * @param dtype the element type
 * @param shape the dimensions, {@code []} for a scalar
 * @param dataOffset bytes before the data in the {@code .npy} image (magic, version, length field
 *     and header text); 0 for an array that did not come from a file
 */
public record NpyHeader(NpyDtype dtype, long[] shape, long dataOffset) {
  public NpyHeader {
    shape = shape.clone();
  }

  /**
   * Number of elements, or -1 if the product of the dimensions does not fit in a long (the parser
   * refuses such headers, so arrays that were read never report -1).
   */
  public long elementCount() {
    try {
      long n = 1;
      for (final long d : shape) {
        n = Math.multiplyExact(n, d);
      }
      return n;
    } catch (final ArithmeticException e) {
      return -1;
    }
  }

  /** Bytes of element data, or -1 if that does not fit in a long. */
  public long dataBytes() {
    final long n = elementCount();
    if (n < 0) {
      return -1;
    }
    try {
      return Math.multiplyExact(n, dtype.itemSize());
    } catch (final ArithmeticException e) {
      return -1;
    }
  }

  @Override
  public long[] shape() {
    return shape.clone();
  }

  @Override
  public boolean equals(final Object o) {
    return o instanceof NpyHeader h
        && h.dtype == dtype
        && Arrays.equals(h.shape, shape)
        && h.dataOffset == dataOffset;
  }

  @Override
  public int hashCode() {
    return 31 * (31 * dtype.hashCode() + Arrays.hashCode(shape)) + Long.hashCode(dataOffset);
  }

  @Override
  public String toString() {
    return dtype.descr() + " " + Arrays.toString(shape);
  }
}
