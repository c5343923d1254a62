package io.synctower.common.data;

import java.util.Objects;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * A dataset whose samples are computed once, on first request, and then served from the heap: for
 * the synthetic sets, which render every sample from its index. A 28 x 72 captcha of the quick
 * start takes about 100 us to render, so each step's 64 samples cost ~6 ms of the prefetch thread,
 * which competes with the towers' native threads for the same cores (10-20% of a 2-core machine,
 * epoch after epoch). From the second epoch on a sample is one array copy.
 *
 * <p>The caller's loop is {@link Dataset}'s; build one through {@link #ifItFits}:
 *
 * <pre>{@code
 * Dataset data = CachedDataset.ifItFits(CaptchaDataset.builder()...build(), CachedDataset.budgetBytes());
 * data.sample(i, pixels, labels, 0);   // renders sample i the first time, copies it afterwards
 * }</pre>
 *
 * <p>Values are the inner dataset's bit for bit (the cache holds what it wrote). Memory: one {@code
 * float[]} and one {@code int[]} per sample asked for, kept for the dataset's life; the whole set
 * must fit in the budget or the dataset is not wrapped at all. Thread-safe: a sample is published
 * through an atomic array after it is complete; two threads asking for a sample not yet cached may
 * both render it, and both get the same values (the inner dataset is deterministic).
 */
public final class CachedDataset implements Dataset {
  /** The most heap the caches of one JVM's datasets may each take: 512 MiB. */
  static final long MAX_BUDGET_BYTES = 512L << 20;

  private final Dataset inner;
  private final int elements;
  private final int labelPositions;
  private final AtomicReferenceArray<Entry> entries;

  private record Entry(float[] pixels, int[] labels) {}

  private CachedDataset(final Dataset inner) {
    this.inner = inner;
    this.elements = Math.toIntExact(inner.sampleShape().elementCount());
    this.labelPositions = inner.labelPositions();
    this.entries = new AtomicReferenceArray<>(inner.size());
  }

  /**
   * {@code inner} cached, or {@code inner} itself when caching all of it could take more than
   * {@code budgetBytes}, or when it holds float64 values (a float32 cache would round them).
   */
  public static Dataset ifItFits(final Dataset inner, final long budgetBytes) {
    Objects.requireNonNull(inner, "inner");
    if (inner.holdsFloat64() || inner instanceof CachedDataset) {
      return inner;
    }
    return bytesFor(inner) <= budgetBytes ? new CachedDataset(inner) : inner;
  }

  /** The budget for one dataset's cache: a quarter of the maximum heap, at most 512 MiB. */
  public static long budgetBytes() {
    return Math.min(MAX_BUDGET_BYTES, Runtime.getRuntime().maxMemory() / 4);
  }

  /** Heap for every sample of {@code d}: pixels, labels and about 64 bytes of headers each. */
  static long bytesFor(final Dataset d) {
    final long perSample = 4 * d.sampleShape().elementCount() + 4L * d.labelPositions() + 64;
    return perSample * d.size();
  }

  @Override
  public int size() {
    return inner.size();
  }

  @Override
  public SampleShape sampleShape() {
    return inner.sampleShape();
  }

  @Override
  public int labelPositions() {
    return labelPositions;
  }

  @Override
  public int numClasses() {
    return inner.numClasses();
  }

  @Override
  public void sample(
      final int index, final float[] pixelsHwc, final int[] labels, final int labelOffset) {
    if (index < 0 || index >= entries.length()) {
      inner.sample(index, pixelsHwc, labels, labelOffset); // throws the inner dataset's own error
    }
    Entry e = entries.get(index);
    if (e == null) {
      final float[] pixels = new float[elements];
      final int[] own = new int[labelPositions];
      inner.sample(index, pixels, own, 0);
      e = new Entry(pixels, own);
      entries.set(index, e);
    }
    System.arraycopy(e.pixels, 0, pixelsHwc, 0, elements);
    System.arraycopy(e.labels, 0, labels, labelOffset, labelPositions);
  }

  @Override
  public String describe() {
    return inner.describe();
  }
}
