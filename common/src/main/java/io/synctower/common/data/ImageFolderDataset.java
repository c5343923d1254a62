package io.synctower.common.data;

import java.awt.image.BufferedImage;
import java.awt.image.Raster;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

/**
 * Images in class folders, {@code root/<class-name>/<file>.png|.jpg|.jpeg} (the layout of
 * torchvision's {@code ImageFolder}). Classes are the sub-directories sorted by name (label = index
 * in that order); files within a class are sorted by name; other files are ignored.
 *
 * <p>Every image must have exactly the configured height and width; a different size is an error
 * naming the file and both sizes (no silent resizing). Pixels are converted to the configured
 * channels: 3 = RGB, 1 = luminance {@code 0.299 R + 0.587 G + 0.114 B} (ITU-R BT.601, as PIL's
 * {@code convert("L")}); a grayscale file read as RGB repeats its value. Grayscale files are read
 * from their raster (8 or 16 bit), not through a colour conversion. Alpha is ignored.
 *
 * <p>Decoded eagerly: all images are decoded once at construction with {@code javax.imageio} into
 * one {@code byte[]} of N*H*W*C 8-bit values (16-bit files are rounded to 8 bits), so bad files
 * fail before training starts and {@link #sample} is a cheap copy (value / 255). Memory is
 * therefore about N*H*W*C bytes; for data that does not fit, convert to another format first.
 * Immutable and thread-safe after construction.
 */
public final class ImageFolderDataset implements Dataset {
  private final Path root;
  private final List<String> classNames;
  private final List<Path> files;
  private final byte[] pixels;
  private final int[] labels;
  private final SampleShape shape;

  /**
   * Scans {@code root} and decodes every image.
   *
   * @param channels 1 (luminance) or 3 (RGB)
   * @throws DataException naming the directory or file: no class folders, a folder without images,
   *     an unreadable image, or an image whose size differs from {@code height x width}
   */
  public ImageFolderDataset(
      final Path root, final int channels, final int height, final int width) {
    this.root = Objects.requireNonNull(root, "root");
    if (channels != 1 && channels != 3) {
      throw new IllegalArgumentException(
          "channels must be 1 (luminance) or 3 (RGB), got " + channels);
    }
    this.shape = new SampleShape(channels, height, width);
    this.classNames = new ArrayList<>();
    this.files = new ArrayList<>();
    final List<Integer> classOfFile = new ArrayList<>();
    for (final Path dir : sortedChildren(root, true)) {
      final int label = classNames.size();
      classNames.add(dir.getFileName().toString());
      final List<Path> images = sortedChildren(dir, false);
      if (images.isEmpty()) {
        throw new DataException(
            dir + ": class folder holds no .png, .jpg or .jpeg file; expected at least one");
      }
      for (final Path f : images) {
        files.add(f);
        classOfFile.add(label);
      }
    }
    if (classNames.isEmpty()) {
      throw new DataException(
          root + ": no class folders; expected root/<class-name>/<image>.png|.jpg|.jpeg");
    }
    final long total = (long) files.size() * shape.elementCount();
    if (total > Integer.MAX_VALUE - 8) {
      throw new DataException(
          root
              + ": "
              + files.size()
              + " images of "
              + shape
              + " need "
              + total
              + " bytes; more than one array holds");
    }
    HeapBudget.require(total, root.toString(), files.size() + " decoded images of " + shape);
    this.pixels = new byte[(int) total];
    this.labels = new int[files.size()];
    for (int i = 0; i < files.size(); i++) {
      labels[i] = classOfFile.get(i);
      decode(files.get(i), i);
    }
  }

  private static List<Path> sortedChildren(final Path dir, final boolean directories) {
    try (Stream<Path> s = Files.list(dir)) {
      return s.filter(p -> directories ? Files.isDirectory(p) : isImage(p))
          .sorted((a, b) -> a.getFileName().toString().compareTo(b.getFileName().toString()))
          .toList();
    } catch (final IOException e) {
      throw new DataException(dir + ": cannot list directory: " + e, e);
    }
  }

  private static boolean isImage(final Path p) {
    final String name = p.getFileName().toString().toLowerCase(Locale.ROOT);
    return Files.isRegularFile(p)
        && (name.endsWith(".png") || name.endsWith(".jpg") || name.endsWith(".jpeg"));
  }

  private void decode(final Path file, final int index) {
    final BufferedImage image = readImage(file, index);
    final int h = shape.height();
    final int w = shape.width();
    final int c = shape.channels();
    final int base = index * shape.elementCount();
    final Raster raster = image.getRaster();
    final boolean gray = raster.getNumBands() == 1 && image.getColorModel().getNumComponents() == 1;
    if (gray) {
      final int bits = raster.getSampleModel().getSampleSize(0);
      final double max = (1 << bits) - 1;
      for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
          final int v = (int) Math.round(raster.getSample(x, y, 0) * 255.0 / max);
          for (int ch = 0; ch < c; ch++) {
            pixels[base + (y * w + x) * c + ch] = (byte) v;
          }
        }
      }
      return;
    }
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        final int argb = image.getRGB(x, y);
        final int r = (argb >>> 16) & 0xFF;
        final int g = (argb >>> 8) & 0xFF;
        final int b = argb & 0xFF;
        final int at = base + (y * w + x) * c;
        if (c == 3) {
          pixels[at] = (byte) r;
          pixels[at + 1] = (byte) g;
          pixels[at + 2] = (byte) b;
        } else {
          pixels[at] = (byte) Math.round(0.299 * r + 0.587 * g + 0.114 * b);
        }
      }
    }
  }

  /**
   * Decodes {@code file}, reading its dimensions from the header first: an image whose size is not
   * the configured one is refused before its pixels are allocated (a 60000x60000 PNG would need
   * gigabytes), and a decoder warning (a truncated JPEG decodes with grey filling) is an error, not
   * silently damaged data.
   */
  private BufferedImage readImage(final Path file, final int index) {
    final String where = " (sample " + index + ")";
    try (ImageInputStream in = ImageIO.createImageInputStream(file.toFile())) {
      if (in == null) {
        throw new DataException(file + ": cannot open image" + where);
      }
      final Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
      if (!readers.hasNext()) {
        throw new DataException(file + ": no image decoder recognises this file" + where);
      }
      final ImageReader reader = readers.next();
      try {
        reader.setInput(in, true, true);
        final int height = reader.getHeight(0);
        final int width = reader.getWidth(0);
        if (height != shape.height() || width != shape.width()) {
          throw new DataException(
              file
                  + ": image is "
                  + height
                  + "x"
                  + width
                  + " (HxW), expected "
                  + shape.height()
                  + "x"
                  + shape.width()
                  + "; resize the data set first");
        }
        final List<String> warnings = new ArrayList<>();
        reader.addIIOReadWarningListener((source, warning) -> warnings.add(warning));
        final BufferedImage image = reader.read(0);
        if (!warnings.isEmpty()) {
          throw new DataException(
              file
                  + ": image is damaged"
                  + where
                  + ": "
                  + String.join("; ", warnings)
                  + "; replace or remove the file");
        }
        return image;
      } finally {
        reader.dispose();
      }
    } catch (final IOException | RuntimeException e) {
      // RuntimeException: decoders report some corrupt data unchecked (e.g. an
      // ArrayIndexOutOfBoundsException from a bad Huffman table); the file is the problem either
      // way.
      if (e instanceof DataException d) {
        throw d;
      }
      throw new DataException(file + ": cannot decode image" + where + ": " + e, e);
    }
  }

  /** Class names in label order (a copy). */
  public List<String> classNames() {
    return List.copyOf(classNames);
  }

  /** The file of sample {@code index}. */
  public Path file(final int index) {
    return files.get(index);
  }

  @Override
  public int size() {
    return files.size();
  }

  @Override
  public SampleShape sampleShape() {
    return shape;
  }

  @Override
  public int labelPositions() {
    return 1;
  }

  @Override
  public int numClasses() {
    return classNames.size();
  }

  @Override
  public void sample(
      final int index, final float[] pixelsHwc, final int[] labelsOut, final int labelOffset) {
    EightBitPixels.toFloats(pixels, offsetOf(index), shape.elementCount(), pixelsHwc);
    labelsOut[labelOffset] = labels[index];
  }

  /** 8-bit pixels: a float64 model takes {@code value / 255} computed in double. */
  @Override
  public boolean holdsFloat64() {
    return true;
  }

  @Override
  public void sampleFloat64(
      final int index, final double[] pixelsHwc, final int[] labelsOut, final int labelOffset) {
    EightBitPixels.toDoubles(pixels, offsetOf(index), shape.elementCount(), pixelsHwc);
    labelsOut[labelOffset] = labels[index];
  }

  /** Where sample {@code index}'s pixels start. */
  private int offsetOf(final int index) {
    if (index < 0 || index >= files.size()) {
      throw new IndexOutOfBoundsException(
          root + ": sample index " + index + " outside 0.." + (files.size() - 1));
    }
    return index * shape.elementCount();
  }

  @Override
  public String describe() {
    return "imagefolder("
        + root
        + ", n="
        + files.size()
        + ", classes="
        + classNames.size()
        + ", "
        + shape
        + ")";
  }
}
