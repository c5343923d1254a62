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
}
