package io.synctower.common.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.testing.Fuzz;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Seeded random and mutated {@code .npy} images, from a stream and from a file: each parses or is a
 * {@link DataException}, never another throwable (StackOverflowError, ArithmeticException,
 * OutOfMemoryError...), and no parse allocates more than {@link Fuzz#ALLOCATION_CAP}.
 */
class NpyFuzzTest {
  @TempDir Path dir;

  private static final String[] DESCRS = {
    "<f4", "<f8", "|u1", "<i8", ">f4", "<c8", "|O", "<f4'", "", "<i4"
  };

  @Test
  void everyInputParsesOrIsADataException() throws Exception {
    final Random rng = new Random(0x5EED_0001L);
    final List<byte[]> seeds = seeds();
    final Path file = dir.resolve("fuzz.npy");
    final int n = Fuzz.iterations(3000);
    int parsed = 0;
    for (int i = 0; i < n; i++) {
      final byte[] input =
          switch (i % 3) {
            case 0 -> Fuzz.mutate(seeds.get(rng.nextInt(seeds.size())), rng);
            case 1 -> structural(rng);
            default -> Fuzz.randomBytes(rng, rng.nextInt(200));
          };
      final String what = "iteration " + i + " (" + Fuzz.describe(input) + ")";
      final boolean fromFile = rng.nextInt(4) == 0;
      if (fromFile) {
        Files.write(file, input);
      }
      final Throwable t =
          Fuzz.expect(
              what,
              () -> {
                final NpyArray a =
                    fromFile
                        ? Npy.read(file)
                        : Npy.read(new ByteArrayInputStream(input), "fuzz.npy");
                assertEquals(a.elementCount() * (long) a.dtype().itemSize(), a.data().remaining());
              },
              DataException.class);
      if (t == null) {
        parsed++;
      }
    }
    assertTrue(parsed > 0, "some inputs parse (the generator is not only producing garbage)");
  }

  private static List<byte[]> seeds() throws Exception {
    final List<NpyArray> arrays =
        List.of(
            NpyArray.ofFloats(new float[] {1, 2, 3, 4, 5, 6}, 2, 3),
            NpyArray.ofDoubles(new double[] {-0.0, Double.NaN}, 2),
            NpyArray.ofBytes(NpyDtype.UINT8, new byte[] {1, 2, 3, 4}, 1, 1, 2, 2),
            NpyArray.ofLongs(new long[] {Long.MAX_VALUE}),
            NpyArray.ofInts(new int[0], 0, 5));
    final List<byte[]> seeds = new ArrayList<>();
    for (final NpyArray a : arrays) {
      final ByteArrayOutputStream out = new ByteArrayOutputStream();
      Npy.write(out, a);
      seeds.add(out.toByteArray());
    }
    return seeds;
  }

  /** A valid prefix with a generated header: odd shapes, sizes, nesting, tokens and dtypes. */
  private static byte[] structural(final Random rng) {
    final StringBuilder shape = new StringBuilder("(");
    final int rank = rng.nextInt(6);
    for (int d = 0; d < rank; d++) {
      shape.append(
          switch (rng.nextInt(6)) {
            case 0 -> String.valueOf(1L << (40 + rng.nextInt(23)));
            case 1 -> "0";
            case 2 -> "-" + rng.nextInt(5);
            case 3 -> "99999999999999999999";
            default -> String.valueOf(rng.nextInt(5));
          });
      shape.append(", ");
    }
    shape.append(")");
    String shapeText = shape.toString();
    if (rng.nextInt(5) == 0) {
      final int depth = rng.nextInt(3) == 0 ? 60_000 : rng.nextInt(20);
      shapeText = "[".repeat(depth) + shapeText + "]".repeat(rng.nextInt(depth + 1));
    }
    final String header =
        "{'descr': '"
            + DESCRS[rng.nextInt(DESCRS.length)]
            + "', 'fortran_order': "
            + (rng.nextInt(8) == 0 ? "True" : "False")
            + ", 'shape': "
            + shapeText
            + ", }\n";
    final byte[] text = header.getBytes(StandardCharsets.ISO_8859_1);
    final boolean v2 = text.length > 0xFFFF || rng.nextBoolean();
    final int lengthBytes = v2 ? 4 : 2;
    final int data = rng.nextInt(64);
    final byte[] out = new byte[8 + lengthBytes + text.length + data];
    System.arraycopy(Npy.MAGIC, 0, out, 0, 6);
    out[6] = (byte) (v2 ? 2 : 1);
    for (int k = 0; k < lengthBytes; k++) {
      out[8 + k] = (byte) (text.length >>> (8 * k));
    }
    System.arraycopy(text, 0, out, 8 + lengthBytes, text.length);
    return out;
  }
}
