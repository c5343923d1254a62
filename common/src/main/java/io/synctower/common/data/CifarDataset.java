package io.synctower.common.data;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * CIFAR-10 and CIFAR-100 in their binary version (Krizhevsky, "Learning Multiple Layers of Features
 * from Tiny Images", 2009; https://www.cs.toronto.edu/~kriz/cifar.html), read from the extracted
 * directory ({@code cifar-10-batches-bin} or {@code cifar-100-binary}).
 *
 * <p>A record is its label byte(s) followed by 3072 pixel bytes: the 1024 red values of the 32x32
 * image row by row, then the 1024 green, then the 1024 blue. CIFAR-10 records have one label byte
 * (0..9) and live in {@code data_batch_1.bin .. data_batch_5.bin} (train) and {@code
 * test_batch.bin} (test); CIFAR-100 records have a coarse label byte (0..19) then a fine one
 * (0..99) and live in {@code train.bin} and {@code test.bin}. Samples are numbered in file order,
 * the train batches one after the other.
 *
 * <p>All records are read at construction (optionally only the first {@code limit}) and validated
 * there: every file's length must be a multiple of the record size and every label in range. The
 * pixels are kept as bytes, reordered once from the file's planes (CHW) to HWC, about 3 KB per
 * sample (150 MB for the CIFAR-10 train split); {@link #sample} converts one sample to {@code value
 * / 255}, in float32 or, for a float64 model, in double. Immutable and thread-safe.
 */
public final class CifarDataset implements Dataset {
  /** Image side in pixels. */
  public static final int SIDE = 32;

  /** Colour channels (R, G, B). */
  public static final int CHANNELS = 3;

  /** Pixel bytes per record. */
  public static final int PIXEL_BYTES = SIDE * SIDE * CHANNELS;

  private static final String DOWNLOAD = "https://www.cs.toronto.edu/~kriz/cifar.html";
  private static final SampleShape SHAPE = new SampleShape(CHANNELS, SIDE, SIDE);

  /** Which of the two data sets, with its file names and label bytes. */
  public enum Variant {
    /** 10 classes, one label byte per record. */
    CIFAR10(
        "cifar10",
        "cifar-10-batches-bin",
        "CIFAR-10 binary version",
        List.of(
            "data_batch_1.bin",
            "data_batch_2.bin",
            "data_batch_3.bin",
            "data_batch_4.bin",
            "data_batch_5.bin"),
        List.of("test_batch.bin"),
        1),
    /** 100 fine classes in 20 coarse ones; a coarse then a fine label byte per record. */
    CIFAR100(
        "cifar100",
        "cifar-100-binary",
        "CIFAR-100 binary version",
        List.of("train.bin"),
        List.of("test.bin"),
        2);

    private final String typeName;
    private final String directoryName;
    private final String downloadName;
    private final List<String> trainFiles;
    private final List<String> testFiles;
    private final int labelBytes;

    Variant(
        final String typeName,
        final String directoryName,
        final String downloadName,
        final List<String> trainFiles,
        final List<String> testFiles,
        final int labelBytes) {
      this.typeName = typeName;
      this.directoryName = directoryName;
      this.downloadName = downloadName;
      this.trainFiles = trainFiles;
      this.testFiles = testFiles;
      this.labelBytes = labelBytes;
    }

    /** Bytes per record: the label bytes and the pixels. */
    public int recordBytes() {
      return labelBytes + PIXEL_BYTES;
    }

    /** The files of {@code part}, in sample order. */
    public List<String> files(final Part part) {
      return part == Part.TRAIN ? trainFiles : testFiles;
    }

    /** The name of the extracted directory, e.g. {@code cifar-10-batches-bin}. */
    public String directoryName() {
      return directoryName;
    }
  }

  /** The predefined split a file set holds. */
  public enum Part {
    TRAIN,
    TEST
  }

  /** Which label of a record is the class: CIFAR-10 has only {@link #FINE}. */
  public enum Labels {
    /** CIFAR-10's label, or CIFAR-100's 100 fine classes. */
    FINE,
    /** CIFAR-100's 20 superclasses. */
    COARSE
  }

  private final Path directory;
  private final Variant variant;
  private final Part part;
  private final Labels labelKind;
  private final int numClasses;
  private final byte[] pixels;
  private final byte[] labels;
  private final int count;

  /**
   * Reads the records of {@code part} from {@code directory}.
   *
   * @param labelKind {@link Labels#FINE} for CIFAR-10; for CIFAR-100 which label is the class
   * @param limit read only the first {@code limit} records (0: all)
   * @throws DataException naming the directory or file (and the record) if the directory or a file
   *     is missing, a file's length is not a multiple of the record size, a label is out of range,
   *     or {@code limit} exceeds the records there
   */
  public CifarDataset(
      final Path directory,
      final Variant variant,
      final Part part,
      final Labels labelKind,
      final int limit) {
    this.directory = Objects.requireNonNull(directory, "directory");
    this.variant = Objects.requireNonNull(variant, "variant");
    this.part = Objects.requireNonNull(part, "part");
    this.labelKind = Objects.requireNonNull(labelKind, "labelKind");
    if (variant == Variant.CIFAR10 && labelKind == Labels.COARSE) {
      throw new IllegalArgumentException("CIFAR-10 has only one label (fine); coarse is CIFAR-100");
    }
    if (limit < 0) {
      throw new IllegalArgumentException("limit must be >= 0 (0: all records), got " + limit);
    }
    this.numClasses = variant == Variant.CIFAR10 ? 10 : labelKind == Labels.FINE ? 100 : 20;
    final List<Path> files = checkFiles();
    final long available = countRecords(files);
    if (limit > available) {
      throw new DataException(
          directory
              + ": size "
              + limit
              + " is more than the "
              + available
              + " records of the "
              + name(part)
              + " split; use at most "
              + available
              + " (0: all)");
    }
    final long n = limit == 0 ? available : limit;
    if (n * PIXEL_BYTES > Integer.MAX_VALUE - 8) {
      throw new DataException(
          directory + ": " + n + " records need more bytes than one array holds; set a size");
    }
    this.count = (int) n;
    HeapBudget.require(
        n * (PIXEL_BYTES + 1), directory.toString(), n + " " + variant.typeName + " records");
    this.pixels = new byte[count * PIXEL_BYTES];
    this.labels = new byte[count];
    int read = 0;
    for (int f = 0; f < files.size() && read < count; f++) {
      read = readFile(files.get(f), read);
    }
  }

  /** The split's files, or an error listing what is missing and where the data comes from. */
  private List<Path> checkFiles() {
    final List<String> names = variant.files(part);
    if (!Files.isDirectory(directory)) {
      final Path inside = directory.resolve(variant.directoryName);
      final String hint =
          Files.isDirectory(inside) ? "; it holds " + inside + ": use that as path" : "";
      throw new DataException(
          directory
              + ": "
              + (Files.exists(directory) ? "not a directory" : "directory not found")
              + hint
              + "; "
              + expected());
    }
    final List<Path> files = new ArrayList<>();
    final List<String> missing = new ArrayList<>();
    for (final String name : names) {
      final Path file = directory.resolve(name);
      files.add(file);
      if (!Files.isRegularFile(file)) {
        missing.add(name);
      }
    }
    if (!missing.isEmpty()) {
      final boolean python =
          variant == Variant.CIFAR10
              ? Files.exists(directory.resolve("data_batch_1"))
              : Files.exists(directory.resolve("train")) && Files.exists(directory.resolve("meta"));
      final Path inside = directory.resolve(variant.directoryName);
      if (Files.isDirectory(inside)) {
        throw new DataException(
            directory + ": missing " + String.join(", ", missing) + "; use " + inside + " as path");
      }
      throw new DataException(
          directory
              + ": missing "
              + String.join(", ", missing)
              + " for the "
              + name(part)
              + " split"
              + (python ? " (this looks like the Python version, which is pickled)" : "")
              + "; "
              + expected());
    }
    return files;
  }

  private String expected() {
    return "expected the extracted directory "
        + variant.directoryName
        + " with "
        + String.join(", ", variant.trainFiles)
        + " (train) and "
        + String.join(", ", variant.testFiles)
        + " (test): the \""
        + variant.downloadName
        + "\" from "
        + DOWNLOAD;
  }

  /** Total records of the files, each checked to hold whole records. */
  private long countRecords(final List<Path> files) {
    final int record = variant.recordBytes();
    long total = 0;
    for (final Path file : files) {
      final long size;
      try {
        size = Files.size(file);
      } catch (final IOException e) {
        throw new DataException(file + ": cannot read file: " + e, e);
      }
      if (size == 0) {
        throw new DataException(
            file
                + ": empty file; expected "
                + variant.typeName
                + " records of "
                + record
                + " bytes (10000 in the original files)");
      }
      if (size % record != 0) {
        throw new DataException(
            file
                + ": "
                + size
                + " bytes is not a whole number of "
                + variant.typeName
                + " records of "
                + record
                + " bytes ("
                + variant.labelBytes
                + " label + "
                + PIXEL_BYTES
                + " pixel bytes; "
                + (size / record)
                + " records and "
                + (size % record)
                + " bytes over); the file is truncated or not the binary version");
      }
      total += size / record;
    }
    return total;
  }

  /**
   * Reads the records of {@code file} into samples {@code first ..} until the file or {@code count}
   * ends; returns the next sample index.
   */
  private int readFile(final Path file, final int first) {
    final int record = variant.recordBytes();
    final byte[] buffer = new byte[record];
    int sample = first;
    try (InputStream in = Files.newInputStream(file)) {
      for (int r = 0; sample < count; r++, sample++) {
        final int got = in.readNBytes(buffer, 0, record);
        if (got == 0) {
          return sample;
        }
        if (got < record) {
          throw new DataException(
              file + ": record " + r + " is truncated (the file changed while it was read)");
        }
        labels[sample] = (byte) label(file, r, buffer);
        planesToHwc(buffer, variant.labelBytes, pixels, sample * PIXEL_BYTES);
      }
      return sample;
    } catch (final IOException e) {
      throw new DataException(file + ": cannot read file: " + e, e);
    }
  }

  /** The class of record {@code r} (whose bytes are in {@code buffer}), every label checked. */
  private int label(final Path file, final int r, final byte[] buffer) {
    if (variant == Variant.CIFAR10) {
      return checkLabel(file, r, buffer, 0, "label", 10);
    }
    final int coarse = checkLabel(file, r, buffer, 0, "coarse label", 20);
    final int fine = checkLabel(file, r, buffer, 1, "fine label", 100);
    return labelKind == Labels.FINE ? fine : coarse;
  }

  private int checkLabel(
      final Path file,
      final int r,
      final byte[] buffer,
      final int at,
      final String what,
      final int classes) {
    final int value = buffer[at] & 0xFF;
    if (value >= classes) {
      throw new DataException(
          file
              + ": record "
              + r
              + " (offset "
              + ((long) r * variant.recordBytes() + at)
              + ") has "
              + what
              + " "
              + value
              + ", expected 0.."
              + (classes - 1)
              + "; the file is damaged or not "
              + variant.downloadName);
    }
    return value;
  }

  /**
   * Reorders one image from the file's three 32x32 planes (all R, all G, all B; each row-major) to
   * height-width-channel order.
   */
  static void planesToHwc(final byte[] src, final int from, final byte[] dst, final int to) {
    final int plane = SIDE * SIDE;
    for (int p = 0; p < plane; p++) {
      for (int c = 0; c < CHANNELS; c++) {
        dst[to + p * CHANNELS + c] = src[from + c * plane + p];
      }
    }
  }

  private static String name(final Part part) {
    return part.name().toLowerCase(Locale.ROOT);
  }

  @Override
  public int size() {
    return count;
  }

  @Override
  public SampleShape sampleShape() {
    return SHAPE;
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
    EightBitPixels.toFloats(pixels, offsetOf(index), PIXEL_BYTES, pixelsHwc);
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
    EightBitPixels.toDoubles(pixels, offsetOf(index), PIXEL_BYTES, pixelsHwc);
    labelsOut[labelOffset] = labels[index] & 0xFF;
  }

  /** Where sample {@code index}'s pixels start. */
  private int offsetOf(final int index) {
    if (index < 0 || index >= count) {
      throw new IndexOutOfBoundsException(
          describe() + ": sample index " + index + " outside 0.." + (count - 1));
    }
    return index * PIXEL_BYTES;
  }

  @Override
  public String describe() {
    return variant.typeName
        + "("
        + directory
        + ", split="
        + name(part)
        + (variant == Variant.CIFAR100
            ? ", labels=" + labelKind.name().toLowerCase(Locale.ROOT)
            : "")
        + ", n="
        + count
        + ", "
        + SHAPE
        + ")";
  }
}
