package io.synctower.common.data;

import java.nio.file.Path;
import java.util.Objects;

/**
 * Images and labels in the IDX format of MNIST and Fashion-MNIST (LeCun et al., "The MNIST database
 * of handwritten digits"): big-endian headers, an images file with magic {@code 0x00000803}
 * (unsigned bytes, dimensions N, H, W) and a labels file with magic {@code 0x00000801} (unsigned
 * bytes, dimension N). Either file may be gzip-compressed; compression is detected from the magic
 * bytes {@code 1f 8b}, not the file name.
 *
 * <p>Both files are read fully into memory at construction (one {@code byte[]} each, about {@code N
 * * H * W} bytes) and validated there: magic numbers, file lengths, matching counts, and every
 * label against {@code numClasses}. {@link #sample} then only converts bytes to {@code value / 255}
 * floats into the caller's array (shape (1, H, W)). Immutable and thread-safe.
 */
public final class IdxDataset implements Dataset {
  /** Magic number of an IDX file of unsigned bytes with three dimensions (images). */
  public static final int IMAGES_MAGIC = 0x00000803;

  /** Magic number of an IDX file of unsigned bytes with one dimension (labels). */
  public static final int LABELS_MAGIC = 0x00000801;

  private static final int IMAGES_HEADER = 16;
  private static final int LABELS_HEADER = 8;

  private final Path imagesFile;
  private final byte[] images;
  private final byte[] labels;
  private final int count;
  private final int numClasses;
  private final SampleShape shape;

  /** Opens an MNIST-style pair with 10 classes. */
  public IdxDataset(final Path imagesFile, final Path labelsFile) {
    this(imagesFile, labelsFile, 10);
  }

  /**
   * Reads and validates both files.
   *
   * @throws DataException naming the file, the offset or index, and what was expected, if a magic
   *     number is wrong, a file is truncated or too long, the counts differ, or a label is not in
   *     {@code 0 .. numClasses-1}
   */
  public IdxDataset(final Path imagesFile, final Path labelsFile, final int numClasses) {
    this.imagesFile = Objects.requireNonNull(imagesFile, "imagesFile");
    Objects.requireNonNull(labelsFile, "labelsFile");
    if (numClasses <= 0) {
      throw new IllegalArgumentException("numClasses must be > 0, got " + numClasses);
    }
    this.numClasses = numClasses;
    this.images = DataFiles.readMaybeGzipped(imagesFile);
    this.labels = DataFiles.readMaybeGzipped(labelsFile);

    checkHeader(imagesFile, images, IMAGES_MAGIC, IMAGES_HEADER);
    final long n = DataFiles.u32be(images, 4);
    final long rows = DataFiles.u32be(images, 8);
    final long cols = DataFiles.u32be(images, 12);
    if (rows == 0 || cols == 0) {
      throw new DataException(
          imagesFile + ": image size at offset 8 is " + rows + "x" + cols + ", expected both > 0");
    }
    checkLength(
        imagesFile, images.length, IMAGES_HEADER + n * rows * cols, n + "x" + rows + "x" + cols);

    checkHeader(labelsFile, labels, LABELS_MAGIC, LABELS_HEADER);
    final long labelCount = DataFiles.u32be(labels, 4);
    checkLength(labelsFile, labels.length, LABELS_HEADER + labelCount, labelCount + " labels");
    if (labelCount != n) {
      throw new DataException(
          labelsFile
              + " holds "
              + labelCount
              + " labels but "
              + imagesFile
              + " holds "
              + n
              + " images; expected the same count");
    }
    for (int i = 0; i < labelCount; i++) {
      final int label = labels[LABELS_HEADER + i] & 0xFF;
      if (label >= numClasses) {
        throw new DataException(
            labelsFile
                + ": label at index "
                + i
                + " (offset "
                + (LABELS_HEADER + i)
                + ") is "
                + label
                + ", expected 0.."
                + (numClasses - 1));
      }
    }
    this.count = (int) n;
    this.shape = new SampleShape(1, (int) rows, (int) cols);
  }

  private static void checkHeader(
      final Path file, final byte[] bytes, final int expectedMagic, final int headerBytes) {
    // The magic first: a labels file passed as images is "wrong magic", not "truncated".
    final long magic = bytes.length >= 4 ? DataFiles.u32be(bytes, 0) : -1;
    if (bytes.length >= 4 && magic != expectedMagic) {
      throw new DataException(
          String.format(
              "%s: IDX magic at offset 0 is 0x%08x, expected 0x%08x (%s)",
              file, magic, expectedMagic, expectedMagic == IMAGES_MAGIC ? "images" : "labels"));
    }
    if (bytes.length < headerBytes) {
      throw new DataException(
          file
              + ": truncated IDX header: expected "
              + headerBytes
              + " header bytes, found "
              + bytes.length);
    }
  }

  private static void checkLength(
      final Path file, final long found, final long expected, final String what) {
    if (expected > Integer.MAX_VALUE - 8) {
      throw new DataException(
          file
              + ": header declares "
              + what
              + " = "
              + expected
              + " bytes; more than one array holds");
    }
    if (found != expected) {
      throw new DataException(
          file
              + (found < expected ? ": truncated" : ": trailing bytes")
              + ": header declares "
              + what
              + ", expected "
              + expected
              + " bytes, found "
              + found);
    }
  }

  @Override
  public int size() {
    return count;
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
    return numClasses;
  }

  @Override
  public void sample(
      final int index, final float[] pixelsHwc, final int[] labelsOut, final int labelOffset) {
    if (index < 0 || index >= count) {
      throw new IndexOutOfBoundsException(
          imagesFile + ": sample index " + index + " outside 0.." + (count - 1));
    }
    final int n = shape.elementCount();
    final int base = IMAGES_HEADER + index * n;
    for (int i = 0; i < n; i++) {
      pixelsHwc[i] = (images[base + i] & 0xFF) / 255f;
    }
    labelsOut[labelOffset] = labels[LABELS_HEADER + index] & 0xFF;
  }

  @Override
  public String describe() {
    return "idx(" + imagesFile + ", n=" + count + ", " + shape + ")";
  }
}
