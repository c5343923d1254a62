package io.synctower.common.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class NormalizationTest {
  @Test
  void shouldSubtractMeanAndDivideByStdPerChannelInPlace() {
    final Normalization n = new Normalization(new float[] {1f, 10f}, new float[] {2f, 5f});
    final float[] px = {3f, 20f, -1f, 0f}; // two pixels of two channels
    n.apply(px, new SampleShape(2, 1, 2));
    assertArrayEquals(new float[] {1f, 2f, -1f, -2f}, px);
  }

  @Test
  void shouldRejectAChannelMismatchNamingBothCounts() {
    final Normalization n = new Normalization(new float[] {0, 0, 0}, new float[] {1, 1, 1});
    final IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> n.apply(new float[4], new SampleShape(1, 2, 2)));
    assertTrue(
        e.getMessage().contains("3 channels") && e.getMessage().contains("have 1"), e.getMessage());
  }

  @Test
  void shouldRejectAZeroStdNamingTheChannel() {
    final IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> new Normalization(new float[] {0, 0}, new float[] {1, 0}));
    assertTrue(e.getMessage().contains("channel 1"), e.getMessage());
  }

  @Test
  void shouldEstimatePopulationMeanAndStdPerChannel() {
    // OverfitDataset(2): image 0 is all zeros; image 1 has 81 of 841 pixels at 1/255 per channel.
    // mean = 81/(2*841) / 255, E[x^2] = 81/(2*841) / 255^2, std = sqrt(E[x^2] - mean^2).
    final Normalization n = Normalization.estimate(new OverfitDataset(2), 100);
    final double p = 81.0 / (2 * 841);
    final double mean = p / 255;
    final double std = Math.sqrt(p / (255.0 * 255) - mean * mean);
    for (int c = 0; c < 3; c++) {
      assertEquals(mean, n.mean()[c], 1e-9);
      assertEquals(std, n.std()[c], 1e-9);
    }
  }

  @Test
  void shouldReportAConstantChannelNamingTheDataset() {
    // Image 0 of OverfitDataset is all zeros, so a subset holding only it is constant.
    final DataException e =
        assertThrows(
            DataException.class,
            () -> Normalization.estimate(new Subset(new OverfitDataset(3), new int[] {0, 0}), 10));
    assertTrue(e.getMessage().contains("channel 0 is constant"), e.getMessage());
    assertTrue(e.getMessage().contains("overfit"), e.getMessage());
  }
}
