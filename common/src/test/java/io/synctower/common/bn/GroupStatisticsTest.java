package io.synctower.common.bn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.synctower.common.nn.StatsReducer;
import java.math.BigDecimal;
import java.math.MathContext;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * SyncBN's one-round forward statistics ({@link GroupStatistics}) against the exact mean and
 * variance of the union, computed in {@link BigDecimal} from the raw values: shards of uneven size,
 * empty slots, and channels whose mean is a million times their spread, where a merge through raw
 * sums of squares would cancel to nothing.
 */
class GroupStatisticsTest {
  private static final MathContext EXACT = MathContext.DECIMAL128;

  /** One tower's two-pass partials of {@code values[ch][i]}, as BatchNorm computes them. */
  private static void putTower(
      final double[] slots, final int rank, final double[][] values, final boolean float32) {
    final int channels = values.length;
    final int m = values[0].length;
    final double[] centre = new double[channels];
    final double[] centred = new double[2 * channels];
    for (int c = 0; c < channels; c++) {
      double sum = 0;
      for (final double v : values[c]) {
        sum += v;
      }
      centre[c] = m > 0 ? sum / m : 0;
      centre[c] = float32 ? (double) (float) centre[c] : centre[c];
      for (final double v : values[c]) {
        centred[c] += v - centre[c];
        centred[channels + c] += (v - centre[c]) * (v - centre[c]);
      }
    }
    GroupStatistics.put(slots, rank, channels, m, centre, centred);
  }

  /** Values of one channel: mean {@code mean}, uniform spread {@code spread}. */
  private static double[] channel(
      final SplittableRandom rng, final int n, final double mean, final double spread) {
    final double[] v = new double[n];
    for (int i = 0; i < n; i++) {
      v[i] = mean + spread * (2 * rng.nextDouble() - 1);
    }
    return v;
  }

  private static BigDecimal[] exactMeanAndVariance(final double[]... shards) {
    BigDecimal sum = BigDecimal.ZERO;
    int m = 0;
    for (final double[] s : shards) {
      for (final double v : s) {
        sum = sum.add(new BigDecimal(v));
        m++;
      }
    }
    final BigDecimal mean = sum.divide(BigDecimal.valueOf(m), EXACT);
    BigDecimal sq = BigDecimal.ZERO;
    for (final double[] s : shards) {
      for (final double v : s) {
        final BigDecimal d = new BigDecimal(v).subtract(mean);
        sq = sq.add(d.multiply(d));
      }
    }
    return new BigDecimal[] {mean, sq.divide(BigDecimal.valueOf(m), EXACT)};
  }

  @Test
  void shouldGiveTheUnionsMeanAndVarianceFromUnevenShards() {
    final SplittableRandom rng = new SplittableRandom(3);
    final int[] sizes = {70, 0, 13, 41};
    // Channel 0 ordinary; channel 1 a mean 1e6 times its spread; channel 2 negative and wide.
    final double[] means = {0.5, 1e4, -300};
    final double[] spreads = {2, 1e-2, 1e3};
    final double[][][] towers = new double[sizes.length][means.length][];
    final int length = GroupStatistics.slotLength(means.length);
    final double[] slots = new double[sizes.length * length];
    for (int t = 0; t < sizes.length; t++) {
      for (int c = 0; c < means.length; c++) {
        // Each tower's shard sits a little apart from the others, as real shards do.
        towers[t][c] = channel(rng, sizes[t], means[c] + spreads[c] * 0.3 * t, spreads[c]);
      }
      putTower(slots, t, towers[t], false);
    }
    final double[] centre = new double[means.length];
    final double[] centred = new double[2 * means.length];
    final double m =
        GroupStatistics.merge(slots, sizes.length, means.length, false, centre, centred);
    assertEquals(124, m);
    for (int c = 0; c < means.length; c++) {
      final double[][] shards = new double[sizes.length][];
      for (int t = 0; t < sizes.length; t++) {
        shards[t] = towers[t][c];
      }
      final BigDecimal[] exact = exactMeanAndVariance(shards);
      final double s = centred[c] / m;
      final double mean = centre[c] + s;
      final double variance = centred[means.length + c] / m - s * s;
      final double expectedVariance = exact[1].doubleValue();
      assertEquals(
          exact[0].doubleValue(),
          mean,
          1e-15 * Math.abs(means[c]) + 1e-15 * spreads[c],
          "mean of channel " + c);
      assertEquals(
          expectedVariance, variance, 1e-12 * expectedVariance, "variance of channel " + c);
    }
  }

  @Test
  void aSingleFilledSlotShouldBeTakenAsItIsSoOneTowerMatchesLocalBnBitForBit() {
    final SplittableRandom rng = new SplittableRandom(5);
    final double[][] values = {channel(rng, 33, 7, 3), channel(rng, 33, -1, 0.1)};
    final int length = GroupStatistics.slotLength(2);
    final double[] slots = new double[3 * length];
    putTower(slots, 1, values, true); // ranks 0 and 2 joined without samples
    final double[] centre = new double[2];
    final double[] centred = new double[4];
    assertEquals(33, GroupStatistics.merge(slots, 3, 2, true, centre, centred));
    final double[] own = new double[length];
    putTower(own, 0, values, true);
    assertArrayEquals(java.util.Arrays.copyOfRange(own, 1, 3), centre, 0.0);
    assertArrayEquals(java.util.Arrays.copyOfRange(own, 3, 7), centred, 0.0);
  }

  @Test
  void allEmptySlotsShouldLeaveTheOutputsAlone() {
    final double[] centre = {4, 5};
    final double[] centred = {1, 2, 3, 4};
    assertEquals(0, GroupStatistics.merge(new double[2 * 7], 2, 2, false, centre, centred));
    assertArrayEquals(new double[] {4, 5}, centre, 0.0);
    assertArrayEquals(new double[] {1, 2, 3, 4}, centred, 0.0);
  }

  @Test
  void aFloat32LayersCentreShouldBeAFloat() {
    final SplittableRandom rng = new SplittableRandom(9);
    final int length = GroupStatistics.slotLength(1);
    final double[] slots = new double[2 * length];
    putTower(slots, 0, new double[][] {channel(rng, 20, 0.1, 1)}, true);
    putTower(slots, 1, new double[][] {channel(rng, 9, 0.3, 1)}, true);
    final double[] centre = new double[1];
    final double[] centred = new double[2];
    GroupStatistics.merge(slots, 2, 1, true, centre, centred);
    assertEquals((double) (float) centre[0], centre[0], 0.0);
  }

  @Test
  void aReducerShouldRefuseARankOutsideItsGroup() {
    assertThrows(IllegalArgumentException.class, () -> StatsReducer.of(2, 2, p -> {}));
    assertThrows(IllegalArgumentException.class, () -> StatsReducer.of(-1, 2, p -> {}));
    assertEquals(1, StatsReducer.LOCAL.groupSize());
    assertEquals(0, StatsReducer.LOCAL.groupRank());
  }
}
