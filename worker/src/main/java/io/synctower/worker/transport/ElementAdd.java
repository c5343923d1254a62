package io.synctower.worker.transport;

import org.agrona.UnsafeApi;

/**
 * {@code dst[k] = src[k] + dst[k]} over raw memory, in SIMD: the receive path's add (from the Aeron
 * log into a tensor) and the direct exchange's.
 *
 * <p>Why blocks through the heap: C2 (Java 17) vectorizes an add over {@code float[]} but not one
 * over raw addresses ({@code Unsafe} accesses without an array base stay scalar, one element per
 * cycle: 13 GB/s on the 2-vCPU EPYC dev machine, where a copy runs at 37). So each block of {@link
 * #BLOCK_BYTES} is copied into two small arrays (they stay in L1), added there by a loop C2 turns
 * into vector instructions, and copied back: 1.4x the scalar loop's bandwidth in cache (17.6
 * against 13.2 GB/s at 8 MiB) and out of it (10.7 against 7.6 at 64 MiB).
 *
 * <p>Same bits as the scalar loop: each element is the same single IEEE 754 addition of the same
 * two operands, in the same operand order; vector lanes round exactly as the scalar instruction
 * does (Java has no fused or reassociated float arithmetic). {@code ElementAddTest} checks it on
 * random data with subnormals, signed zeros, infinities and NaN.
 *
 * <p>Not thread safe: the scratch arrays belong to one caller (a member's own thread). Allocates
 * only in its constructor.
 */
final class ElementAdd {
  /** Bytes per block: 4 KiB of each operand stay in L1 with room to spare. */
  static final int BLOCK_BYTES = 4 << 10;

  /** Below this many elements the scalar loop wins (no copies to amortize). */
  static final int MIN_BLOCKED_ELEMENTS = 64;

  private static final long FLOAT_BASE = UnsafeApi.arrayBaseOffset(float[].class);
  private static final long DOUBLE_BASE = UnsafeApi.arrayBaseOffset(double[].class);

  private final float[] floatTerm = new float[BLOCK_BYTES / 4];
  private final float[] floatAcc = new float[BLOCK_BYTES / 4];
  private final double[] doubleTerm = new double[BLOCK_BYTES / 8];
  private final double[] doubleAcc = new double[BLOCK_BYTES / 8];

  /**
   * {@code dst[k] = src[k] + dst[k]} for n floats; src in {@code srcArray} at offset {@code src}
   * ({@code srcArray} null: src is an address), dst an address. Reads src, overwrites dst.
   */
  void addFloats(final Object srcArray, final long src, final long dst, final int n) {
    if (n < MIN_BLOCKED_ELEMENTS) {
      scalarAddFloats(srcArray, src, dst, n);
      return;
    }
    final float[] term = floatTerm;
    final float[] acc = floatAcc;
    for (int k = 0; k < n; k += term.length) {
      final int m = Math.min(term.length, n - k);
      final long o = ((long) k) << 2;
      final long bytes = ((long) m) << 2;
      UnsafeApi.copyMemory(srcArray, src + o, term, FLOAT_BASE, bytes);
      UnsafeApi.copyMemory(null, dst + o, acc, FLOAT_BASE, bytes);
      addFloatArrays(term, acc, m);
      UnsafeApi.copyMemory(acc, FLOAT_BASE, null, dst + o, bytes);
    }
  }

  /** As {@link #addFloats} for doubles. */
  void addDoubles(final Object srcArray, final long src, final long dst, final int n) {
    if (n < MIN_BLOCKED_ELEMENTS) {
      scalarAddDoubles(srcArray, src, dst, n);
      return;
    }
    final double[] term = doubleTerm;
    final double[] acc = doubleAcc;
    for (int k = 0; k < n; k += term.length) {
      final int m = Math.min(term.length, n - k);
      final long o = ((long) k) << 3;
      final long bytes = ((long) m) << 3;
      UnsafeApi.copyMemory(srcArray, src + o, term, DOUBLE_BASE, bytes);
      UnsafeApi.copyMemory(null, dst + o, acc, DOUBLE_BASE, bytes);
      addDoubleArrays(term, acc, m);
      UnsafeApi.copyMemory(acc, DOUBLE_BASE, null, dst + o, bytes);
    }
  }

  /**
   * {@code dst[k] = mirror[k] = a[k] + b[k]} for n floats, all addresses ({@code mirror} 0: none;
   * dst may be a or b): one pass where a copy of a into dst, an add of b and a copy into mirror
   * would take three.
   */
  void sumFloats(final long a, final long b, final long dst, final long mirror, final int n) {
    if (n < MIN_BLOCKED_ELEMENTS) {
      for (int k = 0; k < n; k++) {
        final long o = ((long) k) << 2;
        final float sum = UnsafeApi.getFloat(null, a + o) + UnsafeApi.getFloat(null, b + o);
        UnsafeApi.putFloat(null, dst + o, sum);
        if (mirror != 0) {
          UnsafeApi.putFloat(null, mirror + o, sum);
        }
      }
      return;
    }
    final float[] term = floatTerm;
    final float[] acc = floatAcc;
    for (int k = 0; k < n; k += term.length) {
      final int m = Math.min(term.length, n - k);
      final long o = ((long) k) << 2;
      final long bytes = ((long) m) << 2;
      UnsafeApi.copyMemory(null, a + o, term, FLOAT_BASE, bytes);
      UnsafeApi.copyMemory(null, b + o, acc, FLOAT_BASE, bytes);
      addFloatArrays(term, acc, m);
      UnsafeApi.copyMemory(acc, FLOAT_BASE, null, dst + o, bytes);
      if (mirror != 0) {
        UnsafeApi.copyMemory(acc, FLOAT_BASE, null, mirror + o, bytes);
      }
    }
  }

  /** As {@link #sumFloats} for doubles. */
  void sumDoubles(final long a, final long b, final long dst, final long mirror, final int n) {
    if (n < MIN_BLOCKED_ELEMENTS) {
      for (int k = 0; k < n; k++) {
        final long o = ((long) k) << 3;
        final double sum = UnsafeApi.getDouble(null, a + o) + UnsafeApi.getDouble(null, b + o);
        UnsafeApi.putDouble(null, dst + o, sum);
        if (mirror != 0) {
          UnsafeApi.putDouble(null, mirror + o, sum);
        }
      }
      return;
    }
    final double[] term = doubleTerm;
    final double[] acc = doubleAcc;
    for (int k = 0; k < n; k += term.length) {
      final int m = Math.min(term.length, n - k);
      final long o = ((long) k) << 3;
      final long bytes = ((long) m) << 3;
      UnsafeApi.copyMemory(null, a + o, term, DOUBLE_BASE, bytes);
      UnsafeApi.copyMemory(null, b + o, acc, DOUBLE_BASE, bytes);
      addDoubleArrays(term, acc, m);
      UnsafeApi.copyMemory(acc, DOUBLE_BASE, null, dst + o, bytes);
      if (mirror != 0) {
        UnsafeApi.copyMemory(acc, DOUBLE_BASE, null, mirror + o, bytes);
      }
    }
  }

  // Term first, as in the scalar loops (the operand order of every addition stays the same).
  private static void addFloatArrays(final float[] term, final float[] acc, final int m) {
    for (int j = 0; j < m; j++) {
      acc[j] = term[j] + acc[j];
    }
  }

  private static void addDoubleArrays(final double[] term, final double[] acc, final int m) {
    for (int j = 0; j < m; j++) {
      acc[j] = term[j] + acc[j];
    }
  }

  /** The reference: one element at a time over raw memory. */
  static void scalarAddFloats(final Object srcArray, final long src, final long dst, final int n) {
    for (int k = 0; k < n; k++) {
      final long o = ((long) k) << 2;
      UnsafeApi.putFloat(
          null, dst + o, UnsafeApi.getFloat(srcArray, src + o) + UnsafeApi.getFloat(null, dst + o));
    }
  }

  /** The reference for doubles. */
  static void scalarAddDoubles(final Object srcArray, final long src, final long dst, final int n) {
    for (int k = 0; k < n; k++) {
      final long o = ((long) k) << 3;
      UnsafeApi.putDouble(
          null,
          dst + o,
          UnsafeApi.getDouble(srcArray, src + o) + UnsafeApi.getDouble(null, dst + o));
    }
  }
}
