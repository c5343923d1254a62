package io.synctower.common.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageFolderDatasetTest {
  @TempDir Path root;

  /** A 2x3 (HxW) RGB image whose pixel (y, x) is (r, 10y + x, 200). */
  private void rgb(final String cls, final String name, final int r, final int h, final int w)
      throws Exception {
    final BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        img.setRGB(x, y, (r << 16) | ((10 * y + x) << 8) | 200);
      }
    }
    Files.createDirectories(root.resolve(cls));
    ImageIO.write(img, "png", root.resolve(cls).resolve(name).toFile());
  }

  @Test
  void shouldSortClassesAndFilesByNameAndReadRgbExactly() throws Exception {
    rgb("zebra", "b.png", 30, 2, 3);
    rgb("zebra", "a.png", 20, 2, 3);
    rgb("ant", "only.PNG", 10, 2, 3);
    Files.writeString(root.resolve("ant").resolve("notes.txt"), "ignored");
    final ImageFolderDataset d = new ImageFolderDataset(root, 3, 2, 3);
    assertEquals(List.of("ant", "zebra"), d.classNames());
    assertEquals(3, d.size());
    assertEquals("a.png", d.file(1).getFileName().toString());
    final float[] px = new float[18];
    final int[] labels = new int[1];
    d.sample(1, px, labels, 0);
    assertEquals(1, labels[0]);
    // pixel (y=1, x=2) of zebra/a.png is RGB (20, 12, 200), at HWC offset (1*3+2)*3 = 15.
    assertArrayEquals(
        new float[] {20 / 255f, 12 / 255f, 200 / 255f}, java.util.Arrays.copyOfRange(px, 15, 18));
  }

  @Test
  void shouldConvertRgbToBt601Luminance() throws Exception {
    rgb("c", "x.png", 100, 1, 1); // (100, 0, 200) -> 0.299*100 + 0.114*200 = 52.7 -> 53
    final ImageFolderDataset d = new ImageFolderDataset(root, 1, 1, 1);
    final float[] px = new float[1];
    d.sample(0, px, new int[1], 0);
    assertEquals(53 / 255f, px[0]);
  }

  @Test
  void shouldReadGrayscaleFromTheRasterWithoutColourConversion() throws Exception {
    final BufferedImage img = new BufferedImage(2, 1, BufferedImage.TYPE_BYTE_GRAY);
    img.getRaster().setSample(0, 0, 0, 128);
    img.getRaster().setSample(1, 0, 0, 7);
    Files.createDirectories(root.resolve("g"));
    ImageIO.write(img, "png", root.resolve("g").resolve("g.png").toFile());
    final ImageFolderDataset d = new ImageFolderDataset(root, 3, 1, 2);
    final float[] px = new float[6];
    d.sample(0, px, new int[1], 0);
    final float a = 128 / 255f;
    final float b = 7 / 255f;
    assertArrayEquals(new float[] {a, a, a, b, b, b}, px);
  }

  @Test
  void shouldRejectAnImageOfAnotherSizeNamingTheFileAndBothSizes() throws Exception {
    rgb("c", "ok.png", 1, 2, 3);
    rgb("c", "wrong.png", 1, 4, 5);
    final DataException e =
        assertThrows(DataException.class, () -> new ImageFolderDataset(root, 3, 2, 3));
    assertTrue(e.getMessage().contains("wrong.png"), e.getMessage());
    assertTrue(e.getMessage().contains("image is 4x5 (HxW), expected 2x3"), e.getMessage());
  }

  @Test
  void shouldRejectAnUnreadableImageNamingIt() throws Exception {
    Files.createDirectories(root.resolve("c"));
    Files.write(root.resolve("c").resolve("broken.jpg"), new byte[] {1, 2, 3, 4, 5});
    final DataException e =
        assertThrows(DataException.class, () -> new ImageFolderDataset(root, 1, 2, 3));
    assertTrue(e.getMessage().contains("broken.jpg"), e.getMessage());
  }

  @Test
  void shouldRejectAClassFolderWithoutImages() throws Exception {
    rgb("a", "x.png", 1, 2, 3);
    Files.createDirectories(root.resolve("empty"));
    final DataException e =
        assertThrows(DataException.class, () -> new ImageFolderDataset(root, 3, 2, 3));
    assertTrue(
        e.getMessage().contains("empty") && e.getMessage().contains("no .png"), e.getMessage());
  }
}
