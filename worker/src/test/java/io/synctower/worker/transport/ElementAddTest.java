package io.synctower.worker.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.Random;
import org.agrona.BufferUtil;
import org.agrona.UnsafeApi;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The blocked (SIMD) add of {@link ElementAdd} gives the same bits as the scalar loop over raw
 * memory and as a plain Java array add, element by element, on data with subnormals, signed zeros,
 * infinities and NaNs (with payloads), for lengths around the block size and unaligned addresses.
 *
 * <p>One exception, checked as "is NaN": NaN + NaN. Which operand's payload the result carries is
 * not specified by the JLS, and C2 commutes the add in its vector form (it did here: the payloads
 * differed); the scalar loop's choice was never pinned either (C2 may commute it too, and {@code
 * InProcessGroup} adds with ND4J's native {@code addi}). A NaN plus a number keeps the NaN's bits.
 */
class ElementAddTest {
  private static final int MAX_BYTES = 64 << 10;
  private static final long BYTE_BASE = UnsafeApi.arrayBaseOffset(byte[].class);

  private ByteBuffer src;
  private ByteBuffer dst;
  private ByteBuffer ref;
  private final ElementAdd adder = new ElementAdd();

  @BeforeEach
  void allocate() {
    src = ByteBuffer.allocateDirect(MAX_BYTES + 64);
    dst = ByteBuffer.allocateDirect(MAX_BYTES + 64);
    ref = ByteBuffer.allocateDirect(MAX_BYTES + 64);
  }

  @AfterEach
  void free() {
    BufferUtil.free(src);
    BufferUtil.free(dst);
    BufferUtil.free(ref);
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 1, 7, 63, 64, 65, 1023, 1024, 1025, 2048, 3001, 16_000})
  void shouldAddFloatsBitForBitLikeTheScalarLoop(final int n) {
    final Random random = new Random(31L * n + 1);
    for (final int misalign : new int[] {0, 4, 12}) {
      final long s = BufferUtil.address(src) + misalign;
      final long d = BufferUtil.address(dst) + 8 - misalign / 2 / 4 * 4;
      final long r = BufferUtil.address(ref) + 8 - misalign / 2 / 4 * 4;
      final float[] a = new float[n];
      final float[] b = new float[n];
      for (int k = 0; k < n; k++) {
        a[k] = specialOrRandomFloat(random);
        b[k] = specialOrRandomFloat(random);
        UnsafeApi.putFloat(null, s + 4L * k, a[k]);
        UnsafeApi.putFloat(null, d + 4L * k, b[k]);
        UnsafeApi.putFloat(null, r + 4L * k, b[k]);
      }
      adder.addFloats(null, s, d, n);
      ElementAdd.scalarAddFloats(null, s, r, n);
      for (int k = 0; k < n; k++) {
        final float sum = UnsafeApi.getFloat(null, d + 4L * k);
        if (Float.isNaN(a[k]) && Float.isNaN(b[k])) {
          assertTrue(Float.isNaN(sum), "element " + k + ": NaN + NaN");
          continue;
        }
        final int bits = Float.floatToRawIntBits(sum);
        assertEquals(
            Float.floatToRawIntBits(UnsafeApi.getFloat(null, r + 4L * k)),
            bits,
            "element " + k + " of " + n + ": " + a[k] + " + " + b[k] + " against the scalar loop");
        assertEquals(
            Float.floatToRawIntBits(a[k] + b[k]),
            bits,
            "element " + k + " of " + n + ": " + a[k] + " + " + b[k] + " against float[]");
      }
    }
  }

  /** The three-operand sum (shared-memory rounds): dst = a + b, against a float[] / double[]. */
  @ParameterizedTest
  @ValueSource(ints = {0, 1, 63, 64, 65, 1023, 1024, 1025, 3001, 8_000})
  void shouldSumTwoOperandsIntoAThirdBitForBit(final int n) {
    final Random random = new Random(13L * n + 5);
    final long a = BufferUtil.address(src) + 8;
    final long b = BufferUtil.address(ref) + 4;
    final long d = BufferUtil.address(dst);
    final float[] fa = new float[n];
    final float[] fb = new float[n];
    for (int k = 0; k < n; k++) {
      fa[k] = specialOrRandomFloat(random);
      fb[k] = specialOrRandomFloat(random);
      UnsafeApi.putFloat(null, a + 4L * k, fa[k]);
      UnsafeApi.putFloat(null, b + 4L * k, fb[k]);
    }
    final ByteBuffer mirrorBuffer = ByteBuffer.allocateDirect(MAX_BYTES + 64);
    final long mirror = BufferUtil.address(mirrorBuffer) + 12;
    adder.sumFloats(a, b, d, mirror, n);
    for (int k = 0; k < n; k++) {
      final float sum = UnsafeApi.getFloat(null, d + 4L * k);
      assertEquals(
          Float.floatToRawIntBits(sum),
          Float.floatToRawIntBits(UnsafeApi.getFloat(null, mirror + 4L * k)),
          "mirror, element " + k);
      if (Float.isNaN(fa[k]) && Float.isNaN(fb[k])) {
        assertTrue(Float.isNaN(sum), "element " + k + ": NaN + NaN");
      } else {
        assertEquals(
            Float.floatToRawIntBits(fa[k] + fb[k]),
            Float.floatToRawIntBits(sum),
            "element " + k + " of " + n + ": " + fa[k] + " + " + fb[k]);
      }
    }
    final double[] da = new double[n];
    final double[] db = new double[n];
    for (int k = 0; k < n; k++) {
      da[k] = specialOrRandomDouble(random);
      db[k] = specialOrRandomDouble(random);
      UnsafeApi.putDouble(null, a + 8L * k, da[k]);
      UnsafeApi.putDouble(null, d + 8L * k, db[k]);
    }
    adder.sumDoubles(a, d, d, 0, n); // dst may be an operand; no mirror
    for (int k = 0; k < n; k++) {
      final double sum = UnsafeApi.getDouble(null, d + 8L * k);
      if (Double.isNaN(da[k]) && Double.isNaN(db[k])) {
        assertTrue(Double.isNaN(sum), "element " + k + ": NaN + NaN");
      } else {
        assertEquals(
            Double.doubleToRawLongBits(da[k] + db[k]),
            Double.doubleToRawLongBits(sum),
            "element " + k + " of " + n + ": " + da[k] + " + " + db[k]);
      }
    }
    BufferUtil.free(mirrorBuffer);
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 1, 63, 64, 65, 511, 512, 513, 1500, 8_000})
  void shouldAddDoublesBitForBitLikeTheScalarLoop(final int n) {
    final Random random = new Random(17L * n + 3);
    for (final int misalign : new int[] {0, 8, 24}) {
      final long s = BufferUtil.address(src) + misalign;
      final long d = BufferUtil.address(dst) + 8;
      final long r = BufferUtil.address(ref) + 8;
      final double[] a = new double[n];
      final double[] b = new double[n];
      for (int k = 0; k < n; k++) {
        a[k] = specialOrRandomDouble(random);
        b[k] = specialOrRandomDouble(random);
        UnsafeApi.putDouble(null, s + 8L * k, a[k]);
        UnsafeApi.putDouble(null, d + 8L * k, b[k]);
        UnsafeApi.putDouble(null, r + 8L * k, b[k]);
      }
      adder.addDoubles(null, s, d, n);
      ElementAdd.scalarAddDoubles(null, s, r, n);
      for (int k = 0; k < n; k++) {
        final double sum = UnsafeApi.getDouble(null, d + 8L * k);
        if (Double.isNaN(a[k]) && Double.isNaN(b[k])) {
          assertTrue(Double.isNaN(sum), "element " + k + ": NaN + NaN");
          continue;
        }
        final long bits = Double.doubleToRawLongBits(sum);
        assertEquals(
            Double.doubleToRawLongBits(UnsafeApi.getDouble(null, r + 8L * k)),
            bits,
            "element " + k + " of " + n + ": " + a[k] + " + " + b[k] + " against the scalar loop");
        assertEquals(
            Double.doubleToRawLongBits(a[k] + b[k]),
            bits,
            "element " + k + " of " + n + ": " + a[k] + " + " + b[k] + " against double[]");
      }
    }
  }

  /** The same once C2 has compiled (and vectorized) the loops: warm up, then check again. */
  @Test
  void shouldStayBitForBitOnceCompiled() {
    final long s = BufferUtil.address(src);
    final long d = BufferUtil.address(dst);
    final long r = BufferUtil.address(ref);
    for (int i = 0; i < 20_000; i++) {
      adder.addFloats(null, s, d, 1024);
      ElementAdd.scalarAddFloats(null, s, r, 1024);
      adder.addDoubles(null, s, d, 512);
      ElementAdd.scalarAddDoubles(null, s, r, 512);
    }
    shouldAddFloatsBitForBitLikeTheScalarLoop(16_000);
    shouldAddDoublesBitForBitLikeTheScalarLoop(8_000);
  }

  /** A term in a heap array (a UDP fragment can sit in one): the offset includes the base. */
  @ParameterizedTest
  @ValueSource(ints = {5, 100, 1500})
  void shouldAddFromAHeapArray(final int n) {
    final Random random = new Random(n);
    final byte[] heap = new byte[4 * n + 16];
    final long d = BufferUtil.address(dst);
    final float[] expected = new float[n];
    for (int k = 0; k < n; k++) {
      final float a = specialOrRandomFloat(random);
      final float b = Float.isNaN(a) ? 1.0f : specialOrRandomFloat(random); // no NaN + NaN
      UnsafeApi.putFloat(heap, BYTE_BASE + 8 + 4L * k, a);
      UnsafeApi.putFloat(null, d + 4L * k, b);
      expected[k] = a + b;
    }
    adder.addFloats(heap, BYTE_BASE + 8, d, n);
    for (int k = 0; k < n; k++) {
      assertEquals(
          Float.floatToRawIntBits(expected[k]),
          Float.floatToRawIntBits(UnsafeApi.getFloat(null, d + 4L * k)),
          "element " + k);
    }
  }

  /** Negative control: the checks see a wrong element (the add must not be a no-op here). */
  @ParameterizedTest
  @ValueSource(ints = {64, 2000})
  void shouldChangeTheDestination(final int n) {
    final long s = BufferUtil.address(src);
    final long d = BufferUtil.address(dst);
    for (int k = 0; k < n; k++) {
      UnsafeApi.putFloat(null, s + 4L * k, 1.5f);
      UnsafeApi.putFloat(null, d + 4L * k, 2.0f);
    }
    adder.addFloats(null, s, d, n);
    for (int k = 0; k < n; k++) {
      assertNotEquals(2.0f, UnsafeApi.getFloat(null, d + 4L * k), "element " + k);
      assertEquals(3.5f, UnsafeApi.getFloat(null, d + 4L * k), "element " + k);
    }
  }

  private static float specialOrRandomFloat(final Random random) {
    switch (random.nextInt(16)) {
      case 0:
        return Float.MIN_VALUE * random.nextInt(1 << 20) * (random.nextBoolean() ? 1 : -1);
      case 1:
        return random.nextBoolean() ? 0.0f : -0.0f;
      case 2:
        return random.nextBoolean() ? Float.POSITIVE_INFINITY : Float.NEGATIVE_INFINITY;
      case 3: // NaNs with payloads (quiet and signalling), either sign
        return Float.intBitsToFloat(
            (random.nextBoolean() ? 0xFF800000 : 0x7F800000) | (1 + random.nextInt(0x7FFFFF)));
      case 4:
        return Float.MAX_VALUE * (random.nextBoolean() ? 1 : -1);
      default:
        return (float) (random.nextGaussian() * Math.pow(10, random.nextInt(9) - 4));
    }
  }

  private static double specialOrRandomDouble(final Random random) {
    switch (random.nextInt(16)) {
      case 0:
        return Double.MIN_VALUE * random.nextInt(1 << 20) * (random.nextBoolean() ? 1 : -1);
      case 1:
        return random.nextBoolean() ? 0.0 : -0.0;
      case 2:
        return random.nextBoolean() ? Double.POSITIVE_INFINITY : Double.NEGATIVE_INFINITY;
      case 3:
        return Double.longBitsToDouble(
            (random.nextBoolean() ? 0xFFF0000000000000L : 0x7FF0000000000000L)
                | (1 + (random.nextLong() & 0xFFFFFFFFFFFFEL)));
      case 4:
        return Double.MAX_VALUE * (random.nextBoolean() ? 1 : -1);
      default:
        return random.nextGaussian() * Math.pow(10, random.nextInt(61) - 30);
    }
  }
}
