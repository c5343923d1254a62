package io.synctower.common.data;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.testing.Fuzz;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Corrupt and huge images in an image folder: errors naming the file, before any big allocation.
 */
class ImageBoundsTest {
  private static final int SIZE = 32;

  @TempDir Path dir;

  private static byte[] encode(final String format) throws Exception {
    final BufferedImage image = new BufferedImage(SIZE, SIZE, BufferedImage.TYPE_INT_RGB);
    final Random rng = new Random(1);
    for (int y = 0; y < SIZE; y++) {
      for (int x = 0; x < SIZE; x++) {
        image.setRGB(x, y, rng.nextInt());
      }
    }
    final ByteArrayOutputStream out = new ByteArrayOutputStream();
    ImageIO.write(image, format, out);
    return out.toByteArray();
  }

  private Path write(final String name, final byte[] bytes) throws Exception {
    return Files.write(Files.createDirectories(dir.resolve("root/cls")).resolve(name), bytes);
  }

  @Test
  void aPngDeclaring60000x60000IsRefusedBeforeItsPixelsAreAllocated() throws Exception {
    final byte[] png = encode("png");
    // IHDR: width at offset 16, height at 20 (big-endian); 60000^2 RGB pixels would be ~10 GiB.
    IdxFuzzTest.putInt(png, 16, 60_000);
    IdxFuzzTest.putInt(png, 20, 60_000);
    final Path file = write("huge.png", png);
    Fuzz.expect(
        "huge png",
        () -> {
          final DataException e =
              assertThrows(
                  DataException.class,
                  () -> new ImageFolderDataset(dir.resolve("root"), 3, SIZE, SIZE));
          assertTrue(e.getMessage().startsWith(file.toString()), e.getMessage());
          assertTrue(e.getMessage().contains("60000x60000"), e.getMessage());
        });
  }

  @Test
  void aTruncatedJpegIsAnErrorNotGreyPixels() throws Exception {
    final byte[] jpg = encode("jpg");
    final Path file = write("cut.jpg", Arrays.copyOf(jpg, jpg.length * 2 / 3));
    final DataException e =
        assertThrows(
            DataException.class, () -> new ImageFolderDataset(dir.resolve("root"), 3, SIZE, SIZE));
    assertTrue(e.getMessage().startsWith(file.toString()), e.getMessage());
  }

  @Test
  void aTruncatedPngIsAnErrorNamingTheFile() throws Exception {
    final byte[] png = encode("png");
    final Path file = write("cut.png", Arrays.copyOf(png, png.length / 2));
    final DataException e =
        assertThrows(
            DataException.class, () -> new ImageFolderDataset(dir.resolve("root"), 3, SIZE, SIZE));
    assertTrue(e.getMessage().startsWith(file.toString()), e.getMessage());
  }
}
