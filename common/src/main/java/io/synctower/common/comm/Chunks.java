package io.synctower.common.comm;

/**
 * How a buffer of {@code length} elements is cut into {@code parts} contiguous chunks: chunk {@code
 * c} is {@code [start(c), start(c + 1))} with {@code start(c) = floor(c * length / parts)}, so
 * sizes differ by at most one and some chunks are empty when {@code length < parts}. Shared by
 * every {@link Collective} so their reduction orders agree.
 */
public final class Chunks {
  private Chunks() {}

  /**
   * First element of chunk {@code c}; {@code c = parts} gives {@code length}. Exact for any buffer
   * ND4J can hold ({@code length * c} stays far below 2^63 for lengths below 2^53 and c <= 1024).
   */
  public static long start(final long length, final int parts, final int c) {
    return Math.multiplyExact(length, (long) c) / parts;
  }

  /**
   * Chunk {@code c}'s first element of the whole buffer, cut to the range {@code [from, to)}: the
   * chunks of {@link io.synctower.common.comm.Collective#allReduceSumRange}. {@code to < 0} means
   * no range (the plain {@link #start}).
   */
  public static long startIn(
      final long length, final int parts, final int c, final long from, final long to) {
    final long x = start(length, parts, c);
    return to < 0 ? x : Math.max(from, Math.min(to, x));
  }

  /** Throws unless {@code 0 <= from <= to <= length}, naming the range and the length. */
  public static void checkRange(final long length, final long from, final long to) {
    if (from < 0 || to < from || to > length) {
      throw new IllegalArgumentException(
          "range ["
              + from
              + ", "
              + to
              + ") of a buffer of length "
              + length
              + "; a range needs 0 <= from <= to <= length");
    }
  }
}
