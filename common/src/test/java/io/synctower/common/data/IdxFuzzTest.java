package io.synctower.common.data;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.testing.Fuzz;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Seeded random and mutated IDX image and label files, plain and gzip-compressed (header sizes set
 * to huge values, truncation, bit flips): each pair loads or is a {@link DataException}, within
 * {@link Fuzz#ALLOCATION_CAP}.
 */
class IdxFuzzTest {
  @TempDir Path dir;

  @Test
  void everyPairLoadsOrIsADataException() throws Exception {
    final Random rng = new Random(0x5EED_0003L);
    final byte[] images = images(3, 4, 5);
    final byte[] labels = labels(3);
    final byte[][] imageSeeds = {images, gzip(images)};
    final byte[][] labelSeeds = {labels, gzip(labels)};
    final byte[] inflatesMore = gzipMore();
    final Path imageFile = dir.resolve("images");
    final Path labelFile = dir.resolve("labels");
    final int n = Fuzz.iterations(1500);
    int loaded = 0;
    byte[] lastLabels = null;
    for (int i = 0; i < n; i++) {
      byte[] img = imageSeeds[rng.nextInt(2)];
      byte[] lab = labelSeeds[rng.nextInt(2)];
      switch (rng.nextInt(5)) {
        case 0, 1 -> img = Fuzz.mutate(img, rng);
        case 2 -> lab = Fuzz.mutate(lab, rng);
        case 3 -> img = rng.nextBoolean() ? gzip(Fuzz.mutate(images, rng)) : inflatesMore;
        default -> {
          if (rng.nextInt(4) == 0) {
            img = Fuzz.randomBytes(rng, rng.nextInt(100));
          }
        }
      }
      Files.write(imageFile, img);
      if (lab != lastLabels) {
        Files.write(labelFile, lab);
        lastLabels = lab;
      }
      final String what =
          "iteration " + i + " (images " + Fuzz.describe(img) + ", labels " + Fuzz.describe(lab);
      if (Fuzz.expect(what, () -> new IdxDataset(imageFile, labelFile), DataException.class)
          == null) {
        loaded++;
      }
    }
    assertTrue(loaded > 0, "some pairs load");
  }

  /** A small gzip file whose header declares 3 images of 4x5 but which inflates to 1 MiB more. */
  private static byte[] gzipMore() throws Exception {
    final byte[] body = new byte[images(3, 4, 5).length + (1 << 20)];
    System.arraycopy(images(3, 4, 5), 0, body, 0, 16);
    return gzip(body);
  }

  static byte[] images(final int n, final int h, final int w) {
    final byte[] b = new byte[16 + n * h * w];
    putInt(b, 0, IdxDataset.IMAGES_MAGIC);
    putInt(b, 4, n);
    putInt(b, 8, h);
    putInt(b, 12, w);
    for (int i = 16; i < b.length; i++) {
      b[i] = (byte) i;
    }
    return b;
  }

  static byte[] labels(final int n) {
    final byte[] b = new byte[8 + n];
    putInt(b, 0, IdxDataset.LABELS_MAGIC);
    putInt(b, 4, n);
    for (int i = 0; i < n; i++) {
      b[8 + i] = (byte) (i % 10);
    }
    return b;
  }

  static void putInt(final byte[] b, final int at, final long v) {
    b[at] = (byte) (v >>> 24);
    b[at + 1] = (byte) (v >>> 16);
    b[at + 2] = (byte) (v >>> 8);
    b[at + 3] = (byte) v;
  }

  static byte[] gzip(final byte[] b) throws Exception {
    final ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
      gz.write(b);
    }
    return out.toByteArray();
  }
}
