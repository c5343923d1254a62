package io.synctower.common.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.synctower.common.config.DatasetFactory;
import io.synctower.common.config.DatasetSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

/**
 * {@link CachedDataset} against the dataset it wraps: the same bits for every index, each sample
 * rendered once however often and from however many threads it is asked for (bar a race on first
 * use), and no cache where the set would not fit or holds float64 values.
 */
class CachedDatasetTest {
  private static Dataset captcha(final int size) {
    return CaptchaDataset.builder().seed(3).size(size).height(28).width(72).noise(0.3).build();
  }

  /** Counts the renders of each index, over the real captcha renderer. */
  private static final class Counting extends ForwardingDataset {
    final AtomicIntegerArray renders;

    Counting(final Dataset inner) {
      super(inner);
      renders = new AtomicIntegerArray(inner.size());
    }

    @Override
    public void sample(final int index, final float[] pixels, final int[] labels, final int at) {
      renders.incrementAndGet(index);
      super.sample(index, pixels, labels, at);
    }
  }

  private static float[] pixels(final Dataset d) {
    return new float[(int) d.sampleShape().elementCount()];
  }

  @Test
  void shouldGiveTheInnerSamplesBitForBitAndRenderEachOnce() {
    final Dataset plain = captcha(40);
    final Counting counting = new Counting(captcha(40));
    final Dataset cached = CachedDataset.ifItFits(counting, Long.MAX_VALUE);
    assertInstanceOf(CachedDataset.class, cached);
    final float[] want = pixels(plain);
    final float[] got = pixels(plain);
    final int[] wantLabels = new int[4];
    final int[] gotLabels = new int[4 * 3];
    for (int pass = 0; pass < 3; pass++) {
      for (int i = 0; i < 40; i++) {
        plain.sample(i, want, wantLabels, 0);
        cached.sample(i, got, gotLabels, 4 * pass); // the label offset is honoured
        assertArrayEquals(want, got, 0f, "sample " + i + ", pass " + pass);
        for (int p = 0; p < 4; p++) {
          assertEquals(wantLabels[p], gotLabels[4 * pass + p], "label of sample " + i);
        }
      }
    }
    for (int i = 0; i < 40; i++) {
      assertEquals(1, counting.renders.get(i), "renders of sample " + i);
    }
    assertEquals(plain.describe(), cached.describe());
    assertEquals(plain.size(), cached.size());
    assertEquals(plain.numClasses(), cached.numClasses());
  }

  @Test
  void shouldServeConcurrentTowersTheSameValues() throws Exception {
    final Dataset plain = captcha(64);
    final Dataset cached = CachedDataset.ifItFits(captcha(64), Long.MAX_VALUE);
    final ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      final List<Future<Integer>> checks = new ArrayList<>();
      for (int t = 0; t < 4; t++) {
        final int stride = 2 * t + 1; // every thread visits every index, in its own order
        checks.add(
            pool.submit(
                () -> {
                  final float[] want = pixels(plain);
                  final float[] got = pixels(plain);
                  final int[] l1 = new int[4];
                  final int[] l2 = new int[4];
                  int equal = 0;
                  for (int k = 0; k < 64 * 3; k++) {
                    final int i = (k * stride) % 64;
                    plain.sample(i, want, l1, 0);
                    cached.sample(i, got, l2, 0);
                    equal +=
                        java.util.Arrays.equals(want, got) && java.util.Arrays.equals(l1, l2)
                            ? 1
                            : 0;
                  }
                  return equal;
                }));
      }
      for (final Future<Integer> f : checks) {
        assertEquals(64 * 3, f.get());
      }
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void shouldNotCacheWhatDoesNotFitOrHoldsFloat64() {
    final Dataset small = captcha(10);
    final long bytes = CachedDataset.bytesFor(small);
    assertEquals(10 * (4L * 28 * 72 + 4 * 4 + 64), bytes);
    assertSame(small, CachedDataset.ifItFits(small, bytes - 1));
    assertInstanceOf(CachedDataset.class, CachedDataset.ifItFits(small, bytes));
    final Dataset float64 =
        new ForwardingDataset(small) {
          @Override
          public boolean holdsFloat64() {
            return true;
          }
        };
    assertSame(float64, CachedDataset.ifItFits(float64, Long.MAX_VALUE));
    final Dataset once = CachedDataset.ifItFits(small, Long.MAX_VALUE);
    assertSame(once, CachedDataset.ifItFits(once, Long.MAX_VALUE));
  }

  @Test
  void anIndexOutsideTheSetShouldFailAsTheInnerDatasetFails() {
    final Dataset cached = CachedDataset.ifItFits(captcha(5), Long.MAX_VALUE);
    final IndexOutOfBoundsException e =
        assertThrows(
            IndexOutOfBoundsException.class,
            () -> cached.sample(5, new float[28 * 72], new int[4], 0));
    final IndexOutOfBoundsException inner =
        assertThrows(
            IndexOutOfBoundsException.class,
            () -> captcha(5).sample(5, new float[28 * 72], new int[4], 0));
    assertEquals(inner.getMessage(), e.getMessage());
  }

  @Test
  void theFactoryShouldCacheTheSyntheticSetsWithinTheBudget() {
    final Dataset quick =
        DatasetFactory.create(
            new DatasetSpec(
                "captcha",
                1,
                12_000,
                28,
                72,
                1,
                4,
                CaptchaDataset.Charset.DIGITS,
                0.3,
                null,
                null,
                0,
                null),
            null);
    assertInstanceOf(CachedDataset.class, quick);
  }
}
