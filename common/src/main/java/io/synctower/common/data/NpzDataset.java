package io.synctower.common.data;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Objects;

/**
 * Samples from a NumPy {@code .npz} archive with two arrays:
 *
 * <ul>
 *   <li>{@code x}: images (N, C, H, W) in PyTorch layout, or flat features (N, F), which become
 *       samples of shape (F, 1, 1). float32 and float64 are taken as they are; uint8 is divided by
 *       255 (like every 8-bit image source here).
 *   <li>{@code y}: integer labels (N,) for one label position or (N, P) for P positions, any of
 *       int8, uint8, int16, int32, int64.
 * </ul>
 *
 * <p>Loaded fully at construction: {@code x} is transposed once from CHW to HWC into one {@code
 * float[]} of N*C*H*W values (a {@code double[]} when {@code x} is float64, so that a float64 model
 * reads it unrounded through {@link #sampleFloat64}) and {@code y} into one {@code int[]}; the
 * archive's own arrays are dropped. Every label is checked against {@code numClasses} there. {@link
 * #sample} copies one sample out. Immutable and thread-safe.
 */
public final class NpzDataset implements Dataset {
  private final Path file;

  /** x in HWC order, unless x is float64; then null. */
  private final float[] pixels;

  /** x in HWC order when x is float64; else null. */
  private final double[] pixels64;

  private final int[] labels;
  private final int count;
  private final int positions;
  private final int numClasses;
  private final SampleShape shape;

  /**
   * Loads {@code file} and infers {@code numClasses} as the largest label plus one. Prefer {@link
   * #NpzDataset(Path, int)} for a subset of a dataset that may lack the highest class.
   */
  public NpzDataset(final Path file) {
    this(file, 0);
  }

  /**
   * Loads {@code file}, requiring every label to be in {@code 0 .. numClasses-1}.
   *
   * @param numClasses number of classes, or 0 to infer it as the largest label plus one
   * @throws DataException naming the file, the key, the index and what was expected, if {@code x}
   *     or {@code y} is missing (naming the keys present), has an unsupported rank or dtype, their
   *     lengths differ, or a label is out of range
   */
  public NpzDataset(final Path file, final int numClasses) {
    this.file = Objects.requireNonNull(file, "file");
    if (numClasses < 0) {
      throw new IllegalArgumentException("numClasses must be >= 0 (0 = infer), got " + numClasses);
    }
    final NpyArray x;
    final NpyArray y;
    // Only x and y are read, and only after their headers passed every check below: other
    // entries are never inflated, and a header that declares too much costs nothing.
    try (NpzArchive archive = NpzArchive.open(file)) {
      final NpyHeader xh = archive.header(require(archive, "x"));
      final NpyHeader yh = archive.header(require(archive, "y"));
      final long[] xs = xh.shape();
      final long[] ys = yh.shape();
      if (xs.length != 4 && xs.length != 2) {
        throw new DataException(
            file
                + ": x has shape "
                + Arrays.toString(xs)
                + ", expected (N, C, H, W) images or (N, F) features");
      }
      if (xh.dtype() != NpyDtype.FLOAT32
          && xh.dtype() != NpyDtype.FLOAT64
          && xh.dtype() != NpyDtype.UINT8) {
        throw new DataException(
            file + ": x has dtype '" + xh.dtype().descr() + "', expected '<f4', '<f8' or '|u1'");
      }
      if (ys.length != 1 && ys.length != 2) {
        throw new DataException(
            file + ": y has shape " + Arrays.toString(ys) + ", expected (N,) or (N, P)");
      }
      if (yh.dtype().isFloating() || yh.dtype() == NpyDtype.BOOL) {
        throw new DataException(
            file
                + ": y has dtype '"
                + yh.dtype().descr()
                + "', expected integer labels ('|i1', '|u1', '<i2', '<i4' or '<i8')");
      }
      if (xs[0] != ys[0]) {
        throw new DataException(
            file
                + ": x holds "
                + xs[0]
                + " samples but y holds "
                + ys[0]
                + " labels; expected the same first dimension");
      }
      if (xs[0] == 0) {
        throw new DataException(file + ": x holds 0 samples, expected at least 1");
      }
      for (int i = 1; i < xs.length; i++) {
        if (xs[i] == 0) {
          throw new DataException(
              file
                  + ": x has shape "
                  + Arrays.toString(xs)
                  + ": dimension "
                  + i
                  + " is 0, so a sample holds no values; expected every dimension > 0");
        }
      }
      if (ys.length == 2 && ys[1] == 0) {
        throw new DataException(file + ": y has shape " + Arrays.toString(ys) + ", P = 0");
      }
      final long values = xh.elementCount();
      if (values > Integer.MAX_VALUE - 8 || xs[0] > Integer.MAX_VALUE) {
        throw new DataException(
            file + ": x has " + values + " values; at most 2^31-9 fit in memory as one array");
      }
      // The raw x and y, plus x converted twice (converted, then transposed to HWC): as floats,
      // or as doubles for float64.
      final long converted = (xh.dtype() == NpyDtype.FLOAT64 ? 16 : 8) * values;
      HeapBudget.require(
          xh.dataBytes() + yh.dataBytes() + converted + 8 * yh.elementCount(),
          file.toString(),
          "x " + xh + " and y " + yh);
      x = archive.read("x");
      y = archive.read("y");
    }

    this.count = (int) x.dim(0);
    this.shape =
        x.rank() == 4
            ? new SampleShape((int) x.dim(1), (int) x.dim(2), (int) x.dim(3))
            : new SampleShape((int) x.dim(1), 1, 1);
    this.positions = y.rank() == 2 ? (int) y.dim(1) : 1;
    checkFits(shape);
    this.pixels = x.dtype() == NpyDtype.FLOAT64 ? null : toHwc(x, shape);
    this.pixels64 = x.dtype() == NpyDtype.FLOAT64 ? toHwc64(x, shape) : null;

    final long[] raw = y.toLongArray();
    long max = -1;
    for (final long v : raw) {
      max = Math.max(max, v);
    }
    this.numClasses = numClasses > 0 ? numClasses : (int) Math.min(Integer.MAX_VALUE, max + 1);
    this.labels = new int[raw.length];
    for (int i = 0; i < raw.length; i++) {
      if (raw[i] < 0 || raw[i] >= this.numClasses) {
        throw new DataException(
            file
                + ": y label of sample "
                + i / positions
                + (positions > 1 ? " position " + i % positions : "")
                + " is "
                + raw[i]
                + ", expected 0.."
                + (this.numClasses - 1));
      }
      labels[i] = (int) raw[i];
    }
  }

  private String require(final NpzArchive archive, final String key) {
    if (!archive.contains(key)) {
      throw new DataException(
          file + ": no array '" + key + "' in .npz archive; keys present: " + archive.keys());
    }
    return key;
  }

  private void checkFits(final SampleShape s) {
    final long total = (long) count * s.elementCount();
    if (total > Integer.MAX_VALUE - 8) {
      throw new DataException(
          file + ": x has " + total + " values; at most 2^31-9 fit in memory as one array");
    }
  }

  /** float64 x as doubles, CHW to HWC (bit-exact). */
  private double[] toHwc64(final NpyArray x, final SampleShape s) {
    final double[] values = x.toDoubleArray();
    if (x.rank() == 2 || s.channels() == 1) {
      return values; // (N, F) and (N, 1, H, W) are already in sample order
    }
    final double[] hwc = new double[values.length];
    chwToHwc(s, (to, from) -> hwc[to] = values[from]);
    return hwc;
  }

  /** Converts x to floats (u8 / 255) and CHW to HWC in one pass; one new array. */
  private float[] toHwc(final NpyArray x, final SampleShape s) {
    final float[] values = x.toFloatArray();
    if (x.dtype() == NpyDtype.UINT8) {
      for (int i = 0; i < values.length; i++) {
        values[i] /= 255f;
      }
    }
    if (x.rank() == 2 || s.channels() == 1) {
      return values; // (N, F) and (N, 1, H, W) are already in sample order
    }
    final float[] hwc = new float[values.length];
    chwToHwc(s, (to, from) -> hwc[to] = values[from]);
    return hwc;
  }

  /** One value moved: {@code hwc[to] = chw[from]}, for arrays of either precision. */
  private interface Move {
    void apply(int to, int from);
  }

  /** Every (HWC index, CHW index) pair of the {@code count} samples, once, at load time. */
  private void chwToHwc(final SampleShape s, final Move move) {
    final int c = s.channels();
    final int hw = s.height() * s.width();
    final int n = s.elementCount();
    for (int sample = 0; sample < count; sample++) {
      final int base = sample * n;
      for (int ch = 0; ch < c; ch++) {
        for (int p = 0; p < hw; p++) {
          move.apply(base + p * c + ch, base + ch * hw + p);
        }
      }
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
    return positions;
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
          file + ": sample index " + index + " outside 0.." + (count - 1));
    }
    final int n = shape.elementCount();
    if (pixels != null) {
      System.arraycopy(pixels, index * n, pixelsHwc, 0, n);
    } else {
      final int from = index * n;
      for (int i = 0; i < n; i++) {
        pixelsHwc[i] = (float) pixels64[from + i];
      }
    }
    System.arraycopy(labels, index * positions, labelsOut, labelOffset, positions);
  }

  @Override
  public boolean holdsFloat64() {
    return pixels64 != null;
  }

  @Override
  public void sampleFloat64(
      final int index, final double[] pixelsHwc, final int[] labelsOut, final int labelOffset) {
    if (pixels64 == null) {
      throw new UnsupportedOperationException(describe() + " holds float32 values: use sample");
    }
    if (index < 0 || index >= count) {
      throw new IndexOutOfBoundsException(
          file + ": sample index " + index + " outside 0.." + (count - 1));
    }
    final int n = shape.elementCount();
    System.arraycopy(pixels64, index * n, pixelsHwc, 0, n);
    System.arraycopy(labels, index * positions, labelsOut, labelOffset, positions);
  }

  @Override
  public String describe() {
    return "npz(" + file + ", n=" + count + ", " + shape + ", labels=" + positions + ")";
  }
}
