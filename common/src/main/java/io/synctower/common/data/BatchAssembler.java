package io.synctower.common.data;

import io.synctower.common.backend.HostMemory;
import java.nio.ByteBuffer;
import java.util.Objects;
import java.util.function.BooleanSupplier;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Fills a preallocated batch tensor {@code x} of shape [n, H, W, C] and a label array from a slice
 * of dataset indices, one sample at a time through a reused scratch array.
 *
 * <pre>{@code
 * BatchAssembler assembler = new BatchAssembler(dataset, normalization); // one per thread
 * INDArray x = assembler.allocate(DataType.FLOAT, 64);                  // once
 * int[] labels = new int[64 * dataset.labelPositions()];                // once
 * for (int b = 0; b < plan.batchCount(); b++) {
 *   int rows = assembler.fill(plan.order(), plan.from(b), plan.count(b), x, labels);
 *   ... train on the first rows of x ...
 * }
 * }</pre>
 *
 * <p>Memory: the assembler owns one float[] of one sample (and a second one with augmentation);
 * {@link #fill} copies each sample from the dataset into it, crops and mirrors it into the second
 * when training batches are augmented ({@link AugmentedEpoch}, keyed by the sample's dataset
 * index), normalizes it there, and writes it into {@code x}'s host memory through {@link
 * HostMemory} (which marks the host copy current, so a device backend copies the new batch to the
 * device before its next op) with absolute puts at the row offset. It allocates nothing per batch
 * (the host view is bound once per distinct {@code x}). The caller owns {@code x} and {@code
 * labels}.
 *
 * <p>Not thread-safe: use one assembler per thread (the {@link Prefetcher} has its own).
 */
public final class BatchAssembler {
  private final Dataset dataset;
  private final Normalization normalization;
  private final SampleShape shape;
  private final int positions;
  private final float[] scratch;

  /** The float64 sample buffer, for a dataset that holds float64 values; else null. */
  private final double[] scratch64;

  /** The epoch's augmentation draws, or null; with them, the augmented sample buffers. */
  private final AugmentedEpoch augmentation;

  private final float[] augmented;
  private final double[] augmented64;

  private HostMemory.Bound lastX;
  private final Job job = new Job();
  // Bound once: a per-batch method reference on `this` would allocate.
  private final HostMemory.Writer<Job> rowWriter = this::writeRows;

  /** The arguments and result of the fill in progress (reused: fill allocates nothing). */
  private static final class Job {
    int[] indices;
    int from;
    int count;
    int[] labels;
    BooleanSupplier cancelled;
    int result;
  }

  /**
   * An assembler for {@code dataset}, normalizing each sample with {@code normalization} (null for
   * none).
   *
   * @throws IllegalArgumentException if the normalization's channel count differs from the
   *     dataset's
   */
  public BatchAssembler(final Dataset dataset, final Normalization normalization) {
    this(dataset, normalization, null);
  }

  /**
   * An assembler that augments each sample with {@code augmentation}'s draws (null for none) before
   * normalizing it: training batches only, never evaluation.
   *
   * @throws IllegalArgumentException if the normalization's channel count differs from the
   *     dataset's, or the crop padding does not fit the sample shape
   */
  public BatchAssembler(
      final Dataset dataset, final Normalization normalization, final AugmentedEpoch augmentation) {
    this.dataset = Objects.requireNonNull(dataset, "dataset");
    this.normalization = normalization;
    this.shape = dataset.sampleShape();
    this.positions = dataset.labelPositions();
    if (normalization != null) {
      normalization.checkCompatible(shape);
    }
    if (augmentation != null) {
      augmentation.augmentation().checkCompatible(shape);
    }
    this.augmentation = augmentation;
    final int n = shape.elementCount();
    this.scratch = new float[n];
    this.scratch64 = dataset.holdsFloat64() ? new double[n] : null;
    this.augmented = augmentation == null ? null : new float[n];
    this.augmented64 = augmentation != null && scratch64 != null ? new double[n] : null;
  }

  /**
   * A new zeroed c-order [rows, H, W, C] array of {@code dtype} (FLOAT or DOUBLE); caller owns it.
   */
  public INDArray allocate(final DataType dtype, final int rows) {
    checkDtype(dtype);
    if (rows <= 0) {
      throw new IllegalArgumentException("rows must be > 0, got " + rows);
    }
    return Nd4j.create(dtype, rows, shape.height(), shape.width(), shape.channels());
  }

  /**
   * Writes samples {@code indices[from .. from+count)} into rows {@code 0 .. count-1} of {@code x}
   * and their labels into {@code labels[0 .. count*labelPositions)}. If {@code x} has more rows
   * than {@code count}, the remaining rows (and labels) are left as they were: only the first
   * {@code count} rows are valid.
   *
   * @return {@code count}
   * @throws IllegalArgumentException if {@code x} is not a c-order, non-view FLOAT or DOUBLE array
   *     of shape [>= count, H, W, C], or labels is too short
   * @throws IndexOutOfBoundsException if the slice is outside {@code indices}
   * @throws DataException from the dataset
   */
  public int fill(
      final int[] indices, final int from, final int count, final INDArray x, final int[] labels) {
    return fill(indices, from, count, x, labels, null);
  }

  /** As {@link #fill}, but stops before a row when {@code cancelled} says so; returns -1 then. */
  int fill(
      final int[] indices,
      final int from,
      final int count,
      final INDArray x,
      final int[] labels,
      final BooleanSupplier cancelled) {
    Objects.checkFromIndexSize(from, count, indices.length);
    bind(x, count);
    if (labels.length < count * positions) {
      throw new IllegalArgumentException(
          "labels has length "
              + labels.length
              + ", expected at least "
              + count * positions
              + " ("
              + count
              + " rows x "
              + positions
              + " label positions)");
    }
    job.indices = indices;
    job.from = from;
    job.count = count;
    job.labels = labels;
    job.cancelled = cancelled;
    try {
      lastX.write(job, rowWriter);
    } finally {
      job.indices = null;
      job.labels = null;
      job.cancelled = null;
    }
    return job.result;
  }

  private void writeRows(final ByteBuffer bytes, final INDArray x, final Job j) {
    final int n = scratch.length;
    final boolean f32 = x.dataType() == DataType.FLOAT;
    for (int row = 0; row < j.count; row++) {
      if (j.cancelled != null && j.cancelled.getAsBoolean()) {
        j.result = -1;
        return;
      }
      final int offset = row * n;
      final int index = j.indices[j.from + row];
      if (!f32 && scratch64 != null) {
        dataset.sampleFloat64(index, scratch64, j.labels, row * positions);
        double[] sample = scratch64;
        if (augmentation != null) {
          augmentation.apply(scratch64, augmented64, shape, index);
          sample = augmented64;
        }
        if (normalization != null) {
          normalization.apply(sample, shape);
        }
        for (int i = 0; i < n; i++) {
          bytes.putDouble((offset + i) * 8, sample[i]);
        }
        continue;
      }
      dataset.sample(index, scratch, j.labels, row * positions);
      float[] sample = scratch;
      if (augmentation != null) {
        augmentation.apply(scratch, augmented, shape, index);
        sample = augmented;
      }
      if (normalization != null) {
        normalization.apply(sample, shape);
      }
      if (f32) {
        for (int i = 0; i < n; i++) {
          bytes.putFloat((offset + i) * 4, sample[i]);
        }
      } else {
        for (int i = 0; i < n; i++) {
          bytes.putDouble((offset + i) * 8, sample[i]);
        }
      }
    }
    j.result = j.count;
  }

  /** Validates {@code x} once per distinct array and caches its NIO view. */
  private void bind(final INDArray x, final int count) {
    Objects.requireNonNull(x, "x");
    if (lastX != null && x == lastX.array()) {
      if (x.size(0) < count) {
        throw new IllegalArgumentException(
            "x has " + x.size(0) + " rows, fewer than the " + count + " samples to write");
      }
      return;
    }
    checkDtype(x.dataType());
    final boolean shapeOk =
        x.rank() == 4
            && x.size(1) == shape.height()
            && x.size(2) == shape.width()
            && x.size(3) == shape.channels()
            && x.size(0) >= count;
    if (!shapeOk) {
      throw new IllegalArgumentException(
          "x has shape "
              + java.util.Arrays.toString(x.shape())
              + ", expected [>= "
              + count
              + ", "
              + shape.height()
              + ", "
              + shape.width()
              + ", "
              + shape.channels()
              + "] (N, H, W, C) for "
              + dataset.describe());
    }
    if (x.ordering() != 'c' || x.offset() != 0 || x.data().length() != x.length()) {
      throw new IllegalArgumentException(
          "x must be a c-order array that owns its whole buffer (not a view), got ordering="
              + x.ordering()
              + ", offset="
              + x.offset()
              + ", buffer length="
              + x.data().length()
              + ", array length="
              + x.length());
    }
    lastX = HostMemory.bind(x);
  }

  private static void checkDtype(final DataType dtype) {
    if (dtype != DataType.FLOAT && dtype != DataType.DOUBLE) {
      throw new IllegalArgumentException("batch dtype must be FLOAT or DOUBLE, got " + dtype);
    }
  }
}
