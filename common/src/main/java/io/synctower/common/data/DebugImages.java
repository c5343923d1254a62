package io.synctower.common.data;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;

/** Writes a sample to an image file for a human to look at; a debugging aid, not a data path. */
public final class DebugImages {
  private DebugImages() {}

  /**
   * Writes a grayscale image as binary PGM (P5, 8 bit): {@code hw} holds {@code h*w} values in [0,
   * 1] in row-major order; values outside are clamped. Reads {@code hw}, never modifies it.
   *
   * @throws IOException if the file cannot be written
   */
  public static void writePgm(final Path file, final float[] hw, final int h, final int w)
      throws IOException {
    final byte[] body = toBytes(file, hw, h, w);
    final byte[] header = ("P5\n" + w + " " + h + "\n255\n").getBytes(StandardCharsets.US_ASCII);
    try (OutputStream out = Files.newOutputStream(file)) {
      out.write(header);
      out.write(body);
    }
  }

  /**
   * Writes a grayscale image as 8-bit PNG through {@code javax.imageio} (no fonts involved); same
   * input contract as {@link #writePgm}.
   *
   * @throws IOException if the file cannot be written
   */
  public static void writePng(final Path file, final float[] hw, final int h, final int w)
      throws IOException {
    final byte[] body = toBytes(file, hw, h, w);
    final BufferedImage image = new BufferedImage(w, h, BufferedImage.TYPE_BYTE_GRAY);
    image.getRaster().setDataElements(0, 0, w, h, body);
    if (!ImageIO.write(image, "png", file.toFile())) {
      throw new IOException(file + ": no PNG writer available");
    }
  }

  private static byte[] toBytes(final Path file, final float[] hw, final int h, final int w) {
    if (h <= 0 || w <= 0 || hw.length < h * w) {
      throw new IllegalArgumentException(
          file + ": need " + h + "x" + w + " = " + h * w + " values, got " + hw.length);
    }
    final byte[] body = new byte[h * w];
    for (int i = 0; i < body.length; i++) {
      final float v = Math.min(1f, Math.max(0f, hw[i]));
      body[i] = (byte) Math.round(v * 255f);
    }
    return body;
  }
}
