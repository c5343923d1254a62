package io.synctower.common.data;

import java.util.Arrays;
import java.util.Objects;

/**
 * Per-channel standardisation {@code x' = (x - mean[c]) / std[c]} of an HWC sample, applied in
 * place after {@link Dataset#sample} and before the sample enters the batch tensor.
 *
 * <pre>{@code
 * Normalization norm = Normalization.estimate(train, 1000); // once, before training
 * dataset.sample(i, pixels, labels, 0);
 * norm.apply(pixels, dataset.sampleShape());                // per sample, no allocation
 * }</pre>
 *
 * <p>The constructor copies mean and std; {@link #apply} modifies the caller's array and allocates
 * nothing. Immutable and thread-safe.
 */
public final class Normalization {
  private final float[] mean;
  private final float[] std;

  /**
   * A normalization with one mean and one standard deviation per channel (both copied).
   *
   * @throws IllegalArgumentException if the lengths differ or are 0, a value is not finite, or a
   *     std is not positive; names the channel
   */
  public Normalization(final float[] mean, final float[] std) {
    Objects.requireNonNull(mean, "mean");
    Objects.requireNonNull(std, "std");
    if (mean.length == 0 || mean.length != std.length) {
      throw new IllegalArgumentException(
          "normalization needs one mean and one std per channel, got "
              + mean.length
              + " means and "
              + std.length
              + " stds");
    }
    for (int c = 0; c < mean.length; c++) {
      if (!Float.isFinite(mean[c]) || !Float.isFinite(std[c]) || std[c] <= 0f) {
        throw new IllegalArgumentException(
            "normalization channel "
                + c
                + ": mean="
                + mean[c]
                + ", std="
                + std[c]
                + "; expected a finite mean and a finite std > 0");
      }
    }
    this.mean = mean.clone();
    this.std = std.clone();
  }

  /**
   * Estimates per-channel mean and population standard deviation from up to {@code maxSamples}
   * samples spread evenly over the dataset (indices {@code k * size / m}), accumulated in double
   * around a per-channel shift (the first sample's channel mean) to avoid cancellation. Allocates
   * one sample buffer.
   *
   * @throws DataException if a channel is constant over the samples read (std 0), naming the
   *     dataset and the channel
   */
  public static Normalization estimate(final Dataset dataset, final int maxSamples) {
    Objects.requireNonNull(dataset, "dataset");
    if (maxSamples <= 0) {
      throw new IllegalArgumentException("maxSamples must be > 0, got " + maxSamples);
    }
    final int m = Math.min(maxSamples, dataset.size());
    if (m == 0) {
      throw new DataException(dataset.describe() + ": no samples to estimate a normalization from");
    }
    final SampleShape shape = dataset.sampleShape();
    final int channels = shape.channels();
    final int n = shape.elementCount();
    final float[] pixels = new float[n];
    final int[] labels = new int[dataset.labelPositions()];
    final double[] shift = new double[channels];
    final double[] sum = new double[channels];
    final double[] sumSq = new double[channels];
    for (int k = 0; k < m; k++) {
      final int index = (int) ((long) k * dataset.size() / m);
      dataset.sample(index, pixels, labels, 0);
      if (k == 0) {
        for (int i = 0; i < n; i++) {
          shift[i % channels] += pixels[i];
        }
        for (int c = 0; c < channels; c++) {
          shift[c] /= n / channels;
        }
      }
      for (int i = 0; i < n; i++) {
        final int c = i % channels;
        final double d = pixels[i] - shift[c];
        sum[c] += d;
        sumSq[c] += d * d;
      }
    }
    final double count = (double) m * (n / channels);
    final float[] mean = new float[channels];
    final float[] std = new float[channels];
    for (int c = 0; c < channels; c++) {
      final double meanShifted = sum[c] / count;
      final double variance = Math.max(0.0, sumSq[c] / count - meanShifted * meanShifted);
      mean[c] = (float) (shift[c] + meanShifted);
      std[c] = (float) Math.sqrt(variance);
      if (!(std[c] > 0f)) {
        throw new DataException(
            dataset.describe()
                + ": channel "
                + c
                + " is constant ("
                + mean[c]
                + ") over "
                + m
                + " samples, std 0; give a normalization explicitly");
      }
    }
    return new Normalization(mean, std);
  }

  /** Number of channels. */
  public int channels() {
    return mean.length;
  }

  /** A copy of the per-channel means. */
  public float[] mean() {
    return mean.clone();
  }

  /** A copy of the per-channel standard deviations. */
  public float[] std() {
    return std.clone();
  }

  /**
   * Checks that this normalization fits samples of {@code shape}.
   *
   * @throws IllegalArgumentException naming both channel counts
   */
  public void checkCompatible(final SampleShape shape) {
    if (shape.channels() != mean.length) {
      throw new IllegalArgumentException(
          "normalization has "
              + mean.length
              + " channels but samples of shape "
              + shape
              + " have "
              + shape.channels());
    }
  }

  /**
   * Normalizes the first {@code shape.elementCount()} values of {@code pixelsHwc} in place.
   *
   * @throws IllegalArgumentException if the channel counts differ (naming both) or the array is
   *     shorter than the sample
   */
  public void apply(final float[] pixelsHwc, final SampleShape shape) {
    final int n = checkSample(pixelsHwc.length, shape);
    final int channels = mean.length;
    for (int i = 0; i < n; i += channels) {
      for (int c = 0; c < channels; c++) {
        pixelsHwc[i + c] = (pixelsHwc[i + c] - mean[c]) / std[c];
      }
    }
  }

  /**
   * As {@link #apply(float[], SampleShape)}, in double precision (a float64 model's float64 data):
   * the per-channel mean and std are this normalization's float32 values, widened exactly.
   */
  public void apply(final double[] pixelsHwc, final SampleShape shape) {
    final int n = checkSample(pixelsHwc.length, shape);
    final int channels = mean.length;
    for (int i = 0; i < n; i += channels) {
      for (int c = 0; c < channels; c++) {
        pixelsHwc[i + c] = (pixelsHwc[i + c] - mean[c]) / std[c];
      }
    }
  }

  /** The sample's value count, after checking channels and the array's length against it. */
  private int checkSample(final int length, final SampleShape shape) {
    checkCompatible(shape);
    final int n = shape.elementCount();
    if (length < n) {
      throw new IllegalArgumentException(
          "sample array has length " + length + ", expected at least " + n + " for shape " + shape);
    }
    return n;
  }

  @Override
  public String toString() {
    return "Normalization(mean=" + Arrays.toString(mean) + ", std=" + Arrays.toString(std) + ")";
  }
}
