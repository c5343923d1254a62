package io.synctower.common.data;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.testing.Fuzz;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The attacks on the {@code .npy} parser from issue 12: each is a DataException naming the file.
 */
class NpyBoundsTest {
  @TempDir Path dir;

  /** A version 2.0 image with {@code header} as its header text and {@code data} zero bytes. */
  static byte[] npy(final String header, final int data) {
    final byte[] text = header.getBytes(StandardCharsets.ISO_8859_1);
    final byte[] out = new byte[12 + text.length + data];
    System.arraycopy(Npy.MAGIC, 0, out, 0, 6);
    out[6] = 2;
    for (int k = 0; k < 4; k++) {
      out[8 + k] = (byte) (text.length >>> (8 * k));
    }
    System.arraycopy(text, 0, out, 12, text.length);
    return out;
  }

  private static String dict(final String descr, final String shape) {
    return "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }\n";
  }

  private DataException read(final byte[] bytes) throws Exception {
    final Path file = dir.resolve("a.npy");
    Files.write(file, bytes);
    final DataException e = assertThrows(DataException.class, () -> Npy.read(file));
    assertTrue(e.getMessage().startsWith(file.toString()), e.getMessage());
    return e;
  }

  @Test
  void deeplyNestedBracketsAreAnErrorNotAStackOverflow() throws Exception {
    final String nested = "[".repeat(60_000); // within the header cap, so the parser sees it
    final DataException e = read(npy(dict("<f4", nested), 0));
    assertTrue(e.getMessage().contains("nested deeper than"), e.getMessage());
  }

  @Test
  void aShapeWhoseByteCountWrapsToZeroIsRefused() throws Exception {
    // 2^61 * 8 bytes = 2^64, which wrapped to 0: the array was accepted with no data.
    final DataException e = read(npy(dict("<f8", "(2305843009213693952, 1)"), 0));
    assertTrue(e.getMessage().contains("more than 2^63 bytes"), e.getMessage());
  }

  @Test
  void aShapeWhoseElementCountOverflowsIsRefused() throws Exception {
    // 2^62 * 4 overflowed in the element count: an ArithmeticException.
    final DataException e = read(npy(dict("<f4", "(4611686018427387904, 4, 1, 1)"), 0));
    assertTrue(e.getMessage().contains("2^63"), e.getMessage());
  }

  @Test
  void aHugeHeaderLengthIsRefusedBeforeReading() throws Exception {
    final byte[] b = npy(dict("<f4", "(1,)"), 4);
    b[8] = (byte) 0xFF;
    b[9] = (byte) 0xFF;
    b[10] = (byte) 0xFF;
    b[11] = (byte) 0x7F;
    final DataException e = read(b);
    assertTrue(e.getMessage().contains("header length 2147483647 is implausible"), e.getMessage());
  }

  @Test
  void aFileShorterThanItsShapeIsRefusedWithoutAllocatingTheShape() throws Exception {
    // 2^28 float64 = 2 GiB declared in a file of a few bytes.
    final Path file = dir.resolve("a.npy");
    Files.write(file, npy(dict("<f8", "(268435456,)"), 16));
    Fuzz.expect(
        "2 GiB declared",
        () -> {
          final DataException e = assertThrows(DataException.class, () -> Npy.read(file));
          assertTrue(e.getMessage().contains("truncated data"), e.getMessage());
        });
  }

  @Test
  void tooManyDimensionsAreRefused() throws Exception {
    final DataException e =
        assertThrows(
            DataException.class,
            () ->
                Npy.read(
                    new ByteArrayInputStream(npy(dict("<f4", "(" + "1, ".repeat(100) + ")"), 4)),
                    "s"));
    assertTrue(e.getMessage().contains("100 dimensions"), e.getMessage());
  }
}
