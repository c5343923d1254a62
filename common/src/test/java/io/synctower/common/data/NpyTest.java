package io.synctower.common.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NpyTest {
  @TempDir Path dir;

  /**
   * The exact bytes NumPy writes for {@code np.save(f, np.arange(3, dtype='<f8'))}: magic, version
   * 1.0, header length 118 (0x76) little-endian, the dict padded with spaces to 128 bytes in all,
   * '\n', then 0.0, 1.0, 2.0 as little-endian doubles.
   */
  private static byte[] numpyArange3() {
    final String dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }";
    final StringBuilder header = new StringBuilder(dict);
    while (header.length() < 117) {
      header.append(' ');
    }
    header.append('\n');
    final ByteBuffer b = ByteBuffer.allocate(128 + 24).order(ByteOrder.LITTLE_ENDIAN);
    b.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 0x76, 0x00});
    b.put(header.toString().getBytes(StandardCharsets.ISO_8859_1));
    b.put(new byte[] {0, 0, 0, 0, 0, 0, 0, 0}); // 0.0
    b.put(new byte[] {0, 0, 0, 0, 0, 0, (byte) 0xF0, 0x3F}); // 1.0 = 0x3FF0000000000000
    b.put(new byte[] {0, 0, 0, 0, 0, 0, 0, 0x40}); // 2.0 = 0x4000000000000000
    return b.array();
  }

  private static NpyArray read(final byte[] bytes) throws Exception {
    return Npy.read(new ByteArrayInputStream(bytes), "test.npy");
  }

  private static byte[] write(final NpyArray a) throws Exception {
    final ByteArrayOutputStream out = new ByteArrayOutputStream();
    Npy.write(out, a);
    return out.toByteArray();
  }

  /** A .npy image with the given header dict and data, version 1.0, unpadded. */
  private static byte[] withHeader(final String dict, final int dataBytes) {
    final byte[] h = (dict + "\n").getBytes(StandardCharsets.ISO_8859_1);
    final ByteBuffer b =
        ByteBuffer.allocate(10 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
    b.put(Npy.MAGIC).put((byte) 1).put((byte) 0).putShort((short) h.length).put(h);
    return b.array();
  }

  @Test
  void shouldReadTheBytesNumpyWritesForArange3() throws Exception {
    final NpyArray a = read(numpyArange3());
    assertEquals(NpyDtype.FLOAT64, a.dtype());
    assertArrayEquals(new long[] {3}, a.shape());
    assertArrayEquals(new double[] {0, 1, 2}, a.toDoubleArray());
  }

  @Test
  void shouldWriteTheSameBytesAsNumpyForArange3() throws Exception {
    assertArrayEquals(numpyArange3(), write(NpyArray.ofDoubles(new double[] {0, 1, 2}, 3)));
  }

  @Test
  void shouldRoundTripFloat32BitExactlyIncludingSpecialValues() throws Exception {
    final float[] values = {
      0f,
      -0f,
      1.5f,
      Float.POSITIVE_INFINITY,
      Float.NEGATIVE_INFINITY,
      Float.NaN,
      Float.MIN_VALUE,
      Float.MAX_VALUE,
      1e-40f,
      (float) Math.PI
    };
    final float[] back = read(write(NpyArray.ofFloats(values, 2, 5))).toFloatArray();
    for (int i = 0; i < values.length; i++) {
      assertEquals(Float.floatToRawIntBits(values[i]), Float.floatToRawIntBits(back[i]), "i=" + i);
    }
  }

  @Test
  void shouldRoundTripFloat64BitExactlyIncludingSpecialValues(@TempDir final Path tmp) {
    final double[] values = {
      0.0,
      -0.0,
      Double.POSITIVE_INFINITY,
      Double.NEGATIVE_INFINITY,
      Double.NaN,
      Double.MIN_VALUE,
      Double.MAX_VALUE,
      0.1,
      4.9e-320
    };
    final Path file = tmp.resolve("d.npy");
    Npy.write(file, NpyArray.ofDoubles(values, 9));
    final double[] back = Npy.read(file).toDoubleArray();
    for (int i = 0; i < values.length; i++) {
      assertEquals(
          Double.doubleToRawLongBits(values[i]), Double.doubleToRawLongBits(back[i]), "i=" + i);
    }
  }

  @Test
  void shouldRoundTripEveryIntegerDtypeWithItsExtremes() throws Exception {
    final NpyArray[] arrays = {
      NpyArray.ofInts(new int[] {Integer.MIN_VALUE, -1, 0, Integer.MAX_VALUE}, 2, 2),
      NpyArray.ofLongs(new long[] {Long.MIN_VALUE, Long.MAX_VALUE}, 2),
      NpyArray.ofShorts(new short[] {Short.MIN_VALUE, Short.MAX_VALUE}, 2),
      NpyArray.ofBytes(NpyDtype.UINT8, new byte[] {0, (byte) 255}, 2),
      NpyArray.ofBytes(NpyDtype.INT8, new byte[] {-128, 127}, 2),
    };
    for (final NpyArray a : arrays) {
      assertEquals(a, read(write(a)), a.toString());
    }
    assertArrayEquals(new long[] {0, 255}, arrays[3].toLongArray());
    assertArrayEquals(new long[] {-128, 127}, arrays[4].toLongArray());
    assertArrayEquals(new long[] {Long.MIN_VALUE, Long.MAX_VALUE}, arrays[1].toLongArray());
  }

  @Test
  void shouldPadEveryHeaderToAMultipleOf64EndingInNewline() throws Exception {
    for (final long[] shape : new long[][] {{}, {0}, {7}, {2, 3, 4, 5, 6, 7, 8, 9, 10, 11}}) {
      final NpyArray a =
          NpyArray.ofBytes(NpyDtype.UINT8, new byte[(int) NpyArray.elementCount(shape)], shape);
      final byte[] h = Npy.header(a);
      assertEquals(0, h.length % 64, Arrays.toString(shape));
      assertEquals('\n', h[h.length - 1]);
      assertEquals(a, read(write(a)));
    }
  }

  @Test
  void shouldReadAScalarAndBoolAndVersionTwoAndPython2Longs() throws Exception {
    final byte[] scalar = withHeader("{'descr': '<i4', 'fortran_order': False, 'shape': (), }", 4);
    scalar[scalar.length - 4] = 42;
    final NpyArray s = read(scalar);
    assertArrayEquals(new long[] {}, s.shape());
    assertEquals(42, s.getLong(0));

    final byte[] bools = withHeader("{'descr': '|b1', 'fortran_order': False, 'shape': (3L,)}", 3);
    bools[bools.length - 3] = 1;
    bools[bools.length - 1] = 2;
    assertArrayEquals(new long[] {1, 0, 1}, read(bools).toLongArray());

    final byte[] h =
        "{\"descr\": \"|u1\", \"fortran_order\": False, \"shape\": (2,)}\n"
            .getBytes(StandardCharsets.ISO_8859_1);
    final ByteBuffer v2 = ByteBuffer.allocate(12 + h.length + 2).order(ByteOrder.LITTLE_ENDIAN);
    v2.put(Npy.MAGIC)
        .put((byte) 2)
        .put((byte) 0)
        .putInt(h.length)
        .put(h)
        .put((byte) 9)
        .put((byte) 200);
    assertArrayEquals(new long[] {9, 200}, read(v2.array()).toLongArray());
  }

  @Test
  void shouldRejectBadMagicShowingTheBytesFound() {
    final DataException e =
        assertThrows(
            DataException.class, () -> read("PK\3\4hello".getBytes(StandardCharsets.ISO_8859_1)));
    assertTrue(e.getMessage().startsWith("test.npy: not a .npy file"), e.getMessage());
    assertTrue(e.getMessage().contains("found 50 4b 03 04 68 65"), e.getMessage());
  }

  @Test
  void shouldRejectATruncatedHeaderNamingExpectedAndFoundBytes() {
    final byte[] cut = Arrays.copyOf(numpyArange3(), 50); // header says 118 bytes, 40 present
    final DataException e = assertThrows(DataException.class, () -> read(cut));
    assertTrue(
        e.getMessage().contains("expected 118 header bytes at offset 10, found 40"),
        e.getMessage());
  }

  @Test
  void shouldRejectTruncatedDataNamingExpectedAndFoundBytes() {
    final byte[] cut = Arrays.copyOf(numpyArange3(), 128 + 20);
    final DataException e = assertThrows(DataException.class, () -> read(cut));
    assertTrue(e.getMessage().contains("truncated data"), e.getMessage());
    assertTrue(
        e.getMessage().contains("needs 24 bytes after the 128-byte header, found 20"),
        e.getMessage());
  }

  @Test
  void shouldRejectFortranOrderNamingTheSource() {
    final byte[] f = withHeader("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 2), }", 32);
    final DataException e = assertThrows(DataException.class, () -> read(f));
    assertTrue(e.getMessage().startsWith("test.npy: fortran_order is True"), e.getMessage());
  }

  @Test
  void shouldRejectBigEndianNamingTheLittleEndianFix() {
    final byte[] f = withHeader("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", 4);
    final DataException e = assertThrows(DataException.class, () -> read(f));
    assertTrue(e.getMessage().contains("big-endian dtype '>f4'"), e.getMessage());
    assertTrue(e.getMessage().contains("'<f4'"), e.getMessage());
  }

  @Test
  void shouldRejectAnUnsupportedDtypeListingTheSupportedOnes() {
    final byte[] f = withHeader("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", 8);
    final DataException e = assertThrows(DataException.class, () -> read(f));
    assertTrue(e.getMessage().contains("unsupported dtype '<c8'"), e.getMessage());
    assertTrue(
        e.getMessage().contains("'<f4'") && e.getMessage().contains("'|b1'"), e.getMessage());
  }

  @Test
  void shouldRejectAMalformedHeaderNamingThePosition() {
    final byte[] f = withHeader("{'descr': '<f4' 'fortran_order': False}", 0);
    final DataException e = assertThrows(DataException.class, () -> read(f));
    assertTrue(e.getMessage().contains("malformed .npy header at character 16"), e.getMessage());
  }

  @Test
  void shouldWriteFilesNumpyCanReadWhenPythonIsAbsentCheckedByOwnReader() throws Exception {
    final Path file = dir.resolve("x.npy");
    final NpyArray a = NpyArray.ofFloats(new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
    Npy.write(file, a);
    final byte[] bytes = Files.readAllBytes(file);
    final String header = new String(bytes, 10, 118, StandardCharsets.ISO_8859_1);
    assertTrue(
        header.startsWith("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"), header);
    assertEquals(128 + 24, bytes.length);
    assertEquals(a, Npy.read(file));
  }
}
