package io.synctower.common.data;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.testing.Fuzz;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Seeded random and mutated PNG and JPEG files (forged dimensions, truncation, bit flips) in an
 * image folder: each decodes into the dataset or is a {@link DataException} naming the file, within
 * {@link Fuzz#ALLOCATION_CAP} (a forged 60000x60000 header must not allocate its pixels).
 */
class ImageDecodeFuzzTest {
  private static final int H = 6;
  private static final int W = 5;

  @TempDir Path dir;

  @Test
  void everyImageDecodesOrIsADataExceptionNamingTheFile() throws Exception {
    final Random rng = new Random(0x5EED_0004L);
    final List<byte[]> seeds =
        List.of(
            encode("png", BufferedImage.TYPE_INT_RGB),
            encode("png", BufferedImage.TYPE_BYTE_GRAY),
            encode("png", BufferedImage.TYPE_USHORT_GRAY),
            encode("jpg", BufferedImage.TYPE_INT_RGB),
            encode("jpg", BufferedImage.TYPE_BYTE_GRAY));
    final Path cls = Files.createDirectories(dir.resolve("root/a"));
    // Fewer inputs by default than the other parsers: each decode goes through ImageIO.
    final int n = Fuzz.iterations(1500);
    int decoded = 0;
    for (int i = 0; i < n; i++) {
      final int s = rng.nextInt(seeds.size());
      final byte[] input =
          rng.nextInt(16) == 0
              ? Fuzz.randomBytes(rng, rng.nextInt(200))
              : Fuzz.mutate(seeds.get(s), rng);
      final Path file = cls.resolve(s < 3 ? "img.png" : "img.jpg");
      Files.deleteIfExists(cls.resolve("img.png"));
      Files.deleteIfExists(cls.resolve("img.jpg"));
      Files.write(file, input);
      final int channels = rng.nextBoolean() ? 1 : 3;
      final Throwable t =
          Fuzz.expect(
              "iteration " + i + " (" + Fuzz.describe(input) + ")",
              () -> new ImageFolderDataset(dir.resolve("root"), channels, H, W),
              DataException.class);
      if (t == null) {
        decoded++;
      } else {
        assertTrue(t.getMessage().contains(file.toString()), t.getMessage());
      }
    }
    assertTrue(decoded > 0, "some images decode");
  }

  private static byte[] encode(final String format, final int type) throws Exception {
    final BufferedImage image = new BufferedImage(W, H, type);
    for (int y = 0; y < H; y++) {
      for (int x = 0; x < W; x++) {
        image.setRGB(x, y, (x * 40) << 16 | (y * 40) << 8 | 99);
      }
    }
    final ByteArrayOutputStream out = new ByteArrayOutputStream();
    ImageIO.write(image, format, out);
    return out.toByteArray();
  }
}
