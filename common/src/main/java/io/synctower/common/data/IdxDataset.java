package io.synctower.common.data;

import java.io.IOException;
import java.io.InputStream;
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
 * label against {@code numClasses}. A header's sizes bound the read: they are checked (overflow
 * included) against the file length and the free heap before the data is allocated, and a gzip
 * stream that inflates past them is an error, not an OutOfMemoryError. {@link #sample} then only
 * converts bytes to {@code value / 255} floats into the caller's array (shape (1, H, W)). Immutable
 * and thread-safe.
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
    final Idx imageFile = readIdx(imagesFile, IMAGES_MAGIC, IMAGES_HEADER);
    final Idx labelFile = readIdx(labelsFile, LABELS_MAGIC, LABELS_HEADER);
    this.images = imageFile.data();
    this.labels = labelFile.data();
    final long n = imageFile.dims()[0];
    final long rows = imageFile.dims()[1];
    final long cols = imageFile.dims()[2];
    final long labelCount = labelFile.dims()[0];
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
      final int label = labels[i] & 0xFF;
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

  /** An IDX file's dimensions and its data (without the header). */
  private record Idx(long[] dims, byte[] data) {}

  /**
   * Reads one IDX file, never more than its header declares: the header first, its sizes multiplied
   * without overflow and checked against the file's length (when not compressed), the per-array
   * limit and the free heap, then exactly the declared data, and for a gzip file a check that the
   * stream ends there (so a small file that inflates to gigabytes stops at the size its header
   * declares).
   */
  private static Idx readIdx(final Path file, final int expectedMagic, final int headerBytes) {
    try (DataFiles.Opened opened = DataFiles.open(file)) {
      final InputStream in = opened.in();
      final byte[] header = in.readNBytes(headerBytes);
      checkHeader(file, header, expectedMagic, headerBytes);
      final long[] dims = new long[(headerBytes - 4) / 4];
      for (int i = 0; i < dims.length; i++) {
        dims[i] = DataFiles.u32be(header, 4 + 4 * i);
      }
      final String what;
      if (expectedMagic == IMAGES_MAGIC) {
        if (dims[1] == 0 || dims[2] == 0) {
          throw new DataException(
              file
                  + ": image size at offset 8 is "
                  + dims[1]
                  + "x"
                  + dims[2]
                  + ", expected both > 0");
        }
        what = dims[0] + "x" + dims[1] + "x" + dims[2];
      } else {
        what = dims[0] + " labels";
      }
      long dataBytes = 1;
      for (final long d : dims) {
        // Three u32 values cannot overflow a long only if the product is checked: 2^22 * 2^21 *
        // 2^21 wraps to 0.
        dataBytes = multiply(file, what, dataBytes, d);
      }
      final long expected = dataBytes + headerBytes;
      if (expected > Integer.MAX_VALUE - 8) {
        throw new DataException(
            file
                + ": header declares "
                + what
                + " = "
                + expected
                + " bytes; more than one array holds");
      }
      if (!opened.gzipped()) {
        checkLength(file, opened.fileSize(), expected, what);
      }
      HeapBudget.require(dataBytes, file.toString(), "IDX data " + what);
      final byte[] data = in.readNBytes((int) dataBytes);
      if (data.length < dataBytes) {
        checkLength(file, headerBytes + (long) data.length, expected, what);
      }
      if (in.read() != -1) {
        throw new DataException(
            file
                + ": trailing bytes: header declares "
                + what
                + ", expected "
                + expected
                + " bytes, but the data decompresses to more; the file is damaged or not the"
                + " IDX file it claims to be");
      }
      return new Idx(dims, data);
    } catch (final IOException e) {
      throw DataFiles.notGzip(file, e);
    }
  }

  private static long multiply(final Path file, final String what, final long a, final long b) {
    try {
      return Math.multiplyExact(a, b);
    } catch (final ArithmeticException e) {
      throw new DataException(
          file + ": header declares " + what + " = more than 2^63 bytes; the header is damaged");
    }
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
    EightBitPixels.toFloats(images, offsetOf(index), shape.elementCount(), pixelsHwc);
    labelsOut[labelOffset] = labels[index] & 0xFF;
  }

  /** 8-bit pixels: a float64 model takes {@code value / 255} computed in double. */
  @Override
  public boolean holdsFloat64() {
    return true;
  }

  @Override
  public void sampleFloat64(
      final int index, final double[] pixelsHwc, final int[] labelsOut, final int labelOffset) {
    EightBitPixels.toDoubles(images, offsetOf(index), shape.elementCount(), pixelsHwc);
    labelsOut[labelOffset] = labels[index] & 0xFF;
  }

  /** Where sample {@code index}'s pixels start. */
  private int offsetOf(final int index) {
    if (index < 0 || index >= count) {
      throw new IndexOutOfBoundsException(
          imagesFile + ": sample index " + index + " outside 0.." + (count - 1));
    }
    return index * shape.elementCount();
  }

  @Override
  public String describe() {
    return "idx(" + imagesFile + ", n=" + count + ", " + shape + ")";
  }
}
