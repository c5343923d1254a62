package io.synctower.common.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Augmented training batches, as the towers assemble them: every sample is the torchvision recipe
 * (zero pad, crop, flip, then normalize) of its own pixels, rebuilt here by padding an explicit
 * larger image and slicing it; the global batch is the same on 1 and on 3 towers (shards
 * concatenated) and from a prefetcher that starts mid-epoch, as a resumed run's does; in float32
 * and in float64.
 */
@Timeout(60)
class AugmentedBatchesTest {
  private static final SampleShape SHAPE = new SampleShape(2, 5, 4); // HxWxC = 5x4x2
  private static final int N = SHAPE.elementCount();
  private static final int SIZE = 40;
  private static final int GLOBAL = 11; // 3 towers: 4/4/3
  private static final long SEED = 9;
  private static final Augmentation AUGMENT = new Augmentation(2, true);
  private static final Normalization NORM =
      new Normalization(new float[] {0.5f, -1f}, new float[] {0.25f, 2f});

  /** The ramp, also in float64: {@code index + element / 1000} computed in double. */
  private static final class Ramp64 implements Dataset {
    private final RampDataset ramp = new RampDataset(SIZE, SHAPE, 1, 10);

    @Override
    public int size() {
      return SIZE;
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
      return 10;
    }

    @Override
    public void sample(final int index, final float[] p, final int[] l, final int off) {
      ramp.sample(index, p, l, off);
    }

    @Override
    public boolean holdsFloat64() {
      return true;
    }

    @Override
    public void sampleFloat64(final int index, final double[] p, final int[] l, final int off) {
      for (int i = 0; i < N; i++) {
        p[i] = index + i / 1000.0;
      }
      l[off] = RampDataset.label(index, 0, 10);
    }

    @Override
    public String describe() {
      return "ramp64";
    }
  }

  /**
   * The reference: pad the sample with zeros into a (H+2p)x(W+2p) image, take the window at (top,
   * left), mirror it, normalize: torchvision's order, written out independently.
   */
  private static double[] reference(
      final Dataset data, final int index, final AugmentedEpoch e, final boolean wide) {
    final int p = AUGMENT.cropPadding();
    final int h = SHAPE.height();
    final int w = SHAPE.width();
    final int c = SHAPE.channels();
    final double[][][] padded = new double[h + 2 * p][w + 2 * p][c];
    final double[] raw = new double[N];
    if (wide) {
      data.sampleFloat64(index, raw, new int[1], 0);
    } else {
      final float[] f = new float[N];
      data.sample(index, f, new int[1], 0);
      for (int i = 0; i < N; i++) {
        raw[i] = f[i];
      }
    }
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        for (int k = 0; k < c; k++) {
          padded[y + p][x + p][k] = raw[(y * w + x) * c + k];
        }
      }
    }
    final double[] out = new double[N];
    final float[] mean = NORM.mean();
    final float[] std = NORM.std();
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        final int col = e.mirrors(index) ? w - 1 - x : x;
        for (int k = 0; k < c; k++) {
          final double v = padded[e.top(index) + y][e.left(index) + col][k];
          out[(y * w + x) * c + k] =
              wide ? (v - mean[k]) / std[k] : (double) (((float) v - mean[k]) / std[k]);
        }
      }
    }
    return out;
  }

  /** The training batches of one epoch on tower {@code rank} of {@code towers}, from a batch on. */
  private static List<double[]> shardBatches(
      final Dataset data,
      final DataType dtype,
      final int epoch,
      final int towers,
      final int rank,
      final int firstBatch)
      throws InterruptedException {
    final BatchPlan plan =
        BatchPlan.shard(
            EpochPermutation.of(SEED, epoch, SIZE),
            GLOBAL,
            Shards.offset(GLOBAL, towers, rank),
            Shards.size(GLOBAL, towers, rank),
            true);
    final List<double[]> out = new ArrayList<>();
    try (Prefetcher p =
        Prefetcher.start(data, NORM, AUGMENT.epoch(SEED, epoch), plan, dtype, 2, firstBatch)) {
      while (p.hasNext()) {
        final Batch b = p.next();
        out.add(Arrays.copyOf(b.x().data().asDouble(), b.count() * N));
        b.release();
      }
    }
    return out;
  }

  /** The global batches of one epoch, each the concatenation of every tower's shard. */
  private static List<double[]> globalBatches(
      final Dataset data, final DataType dtype, final int epoch, final int towers)
      throws InterruptedException {
    final List<List<double[]>> shards = new ArrayList<>();
    for (int r = 0; r < towers; r++) {
      shards.add(shardBatches(data, dtype, epoch, towers, r, 0));
    }
    final List<double[]> out = new ArrayList<>();
    for (int b = 0; b < shards.get(0).size(); b++) {
      double[] global = new double[0];
      for (int r = 0; r < towers; r++) {
        final double[] s = shards.get(r).get(b);
        final double[] joined = Arrays.copyOf(global, global.length + s.length);
        System.arraycopy(s, 0, joined, global.length, s.length);
        global = joined;
      }
      out.add(global);
    }
    return out;
  }

  @Test
  void everyTrainingSampleIsItsPaddedCroppedMirroredNormalizedSelf() throws Exception {
    for (final boolean wide : new boolean[] {false, true}) {
      final Dataset data = wide ? new Ramp64() : new RampDataset(SIZE, SHAPE, 1, 10);
      final DataType dtype = wide ? DataType.DOUBLE : DataType.FLOAT;
      final AugmentedEpoch e = AUGMENT.epoch(SEED, 1);
      final int[] order = EpochPermutation.of(SEED, 1, SIZE);
      final List<double[]> batches = globalBatches(data, dtype, 1, 1);
      assertEquals(SIZE / GLOBAL, batches.size());
      int padded = 0;
      int mirrored = 0;
      for (int b = 0; b < batches.size(); b++) {
        for (int row = 0; row < GLOBAL; row++) {
          final int index = order[b * GLOBAL + row];
          final double[] expected = reference(data, index, e, wide);
          assertArrayEquals(
              expected,
              Arrays.copyOfRange(batches.get(b), row * N, (row + 1) * N),
              "sample " + index + (wide ? " (float64)" : " (float32)"));
          padded += e.top(index) != 2 || e.left(index) != 2 ? 1 : 0;
          mirrored += e.mirrors(index) ? 1 : 0;
        }
      }
      // The batches exercise shifted windows (padded pixels are -mean/std) and mirrors.
      assertTrue(padded > 10 && mirrored > 5, padded + " shifted, " + mirrored + " mirrored");
    }
  }

  @Test
  void threeTowersConcatenatedGiveTheOneTowerGlobalBatches() throws Exception {
    for (final boolean wide : new boolean[] {false, true}) {
      final Dataset data = wide ? new Ramp64() : new RampDataset(SIZE, SHAPE, 1, 10);
      final DataType dtype = wide ? DataType.DOUBLE : DataType.FLOAT;
      final List<double[]> one = globalBatches(data, dtype, 0, 1);
      final List<double[]> three = globalBatches(data, dtype, 0, 3);
      assertEquals(one.size(), three.size());
      for (int b = 0; b < one.size(); b++) {
        assertArrayEquals(one.get(b), three.get(b), "global batch " + b);
      }
    }
  }

  @Test
  void aPrefetcherStartedMidEpochGivesTheBatchesOfTheUninterruptedEpoch() throws Exception {
    final Dataset data = new RampDataset(SIZE, SHAPE, 1, 10);
    for (int rank = 0; rank < 3; rank++) {
      final List<double[]> straight = shardBatches(data, DataType.FLOAT, 2, 3, rank, 0);
      final List<double[]> resumed = shardBatches(data, DataType.FLOAT, 2, 3, rank, 2);
      assertEquals(straight.size() - 2, resumed.size());
      for (int b = 0; b < resumed.size(); b++) {
        assertArrayEquals(straight.get(b + 2), resumed.get(b), "tower " + rank + " batch " + b);
      }
    }
  }

  @Test
  void anotherEpochAugmentsTheSameSamplesDifferently() throws Exception {
    final Dataset data = new RampDataset(SIZE, SHAPE, 1, 10);
    final int[] order0 = EpochPermutation.of(SEED, 0, SIZE);
    final int[] order1 = EpochPermutation.of(SEED, 1, SIZE);
    final List<double[]> epoch0 = globalBatches(data, DataType.FLOAT, 0, 1);
    final List<double[]> epoch1 = globalBatches(data, DataType.FLOAT, 1, 1);
    int differing = 0;
    int compared = 0;
    for (int pos0 = 0; pos0 < epoch0.size() * GLOBAL; pos0++) {
      final int index = order0[pos0];
      int pos1 = 0;
      while (order1[pos1] != index) {
        pos1++;
      }
      if (pos1 >= epoch1.size() * GLOBAL) {
        continue; // dropped with the partial last batch of epoch 1
      }
      compared++;
      final double[] a = row(epoch0, pos0);
      final double[] b = row(epoch1, pos1);
      differing += Arrays.equals(a, b) ? 0 : 1;
    }
    // Alike only when both epochs draw the same of 50 placements: about 2% of samples.
    assertTrue(compared > 20 && differing > compared * 3 / 4, differing + " of " + compared);
  }

  @Test
  void withoutAugmentationTheBatchesAreThePlainNormalizedSamples() throws Exception {
    final Dataset data = new RampDataset(SIZE, SHAPE, 1, 10);
    final int[] order = EpochPermutation.of(SEED, 0, SIZE);
    final BatchAssembler plain = new BatchAssembler(data, NORM);
    final INDArray x = plain.allocate(DataType.FLOAT, GLOBAL);
    plain.fill(order, 0, GLOBAL, x, new int[GLOBAL]);
    final float[] expected = new float[N];
    for (int row = 0; row < GLOBAL; row++) {
      data.sample(order[row], expected, new int[1], 0);
      NORM.apply(expected, SHAPE);
      assertArrayEquals(expected, Arrays.copyOfRange(x.data().asFloat(), row * N, (row + 1) * N));
    }
    final double[] augmented = globalBatches(data, DataType.FLOAT, 0, 1).get(0);
    assertFalse(Arrays.equals(Arrays.copyOf(x.data().asDouble(), GLOBAL * N), augmented));
  }

  @Test
  void aPaddingTooLargeForTheSamplesIsRefusedWhenTheAssemblerIsMade() {
    final IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                new BatchAssembler(
                    new RampDataset(SIZE, SHAPE, 1, 10),
                    null,
                    new Augmentation(4, false).epoch(SEED, 0)));
    assertTrue(e.getMessage().contains("use at most 3"), e.getMessage());
  }

  private static double[] row(final List<double[]> batches, final int position) {
    return Arrays.copyOfRange(
        batches.get(position / GLOBAL), (position % GLOBAL) * N, (position % GLOBAL + 1) * N);
  }
}
