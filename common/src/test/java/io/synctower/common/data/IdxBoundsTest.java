package io.synctower.common.data;

import static io.synctower.common.data.IdxFuzzTest.gzip;
import static io.synctower.common.data.IdxFuzzTest.images;
import static io.synctower.common.data.IdxFuzzTest.labels;
import static io.synctower.common.data.IdxFuzzTest.putInt;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.testing.Fuzz;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The attacks on the IDX reader from issue 12: overflowing headers and gzip bombs. */
class IdxBoundsTest {
  @TempDir Path dir;

  @Test
  void aHeaderWhoseSizeWrapsToZeroIsRefused() throws Exception {
    // 2^22 images of 2^21 x 2^21 = 2^64 bytes, which wrapped to 0: the 16-byte file passed.
    final byte[] header = images(0, 1, 1);
    putInt(header, 4, 1L << 22);
    putInt(header, 8, 1L << 21);
    putInt(header, 12, 1L << 21);
    final Path images = Files.write(dir.resolve("img"), header);
    final Path labels = Files.write(dir.resolve("lab"), labels(3));
    final DataException e = assertThrows(DataException.class, () -> new IdxDataset(images, labels));
    assertTrue(e.getMessage().startsWith(images.toString()), e.getMessage());
    assertTrue(e.getMessage().contains("more than 2^63 bytes"), e.getMessage());
  }

  @Test
  void aGzipFileThatInflatesPastItsHeaderStopsThere() throws Exception {
    final byte[] small = images(2, 3, 3);
    final byte[] bomb = new byte[small.length + (96 << 20)]; // 96 MiB more, ~100 KiB compressed
    System.arraycopy(small, 0, bomb, 0, small.length);
    final Path images = Files.write(dir.resolve("img.gz"), gzip(bomb));
    final Path labels = Files.write(dir.resolve("lab"), labels(2));
    Fuzz.expect(
        "gzip bomb",
        () -> {
          final DataException e =
              assertThrows(DataException.class, () -> new IdxDataset(images, labels));
          assertTrue(e.getMessage().startsWith(images.toString()), e.getMessage());
          assertTrue(e.getMessage().contains("decompresses to more"), e.getMessage());
        });
  }
}
