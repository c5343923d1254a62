package io.synctower.common.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class OverfitDatasetTest {
  @Test
  void shouldHaveOneClassPerImageOfTheReportedShape() {
    final OverfitDataset d = new OverfitDataset();
    assertEquals(256, d.size());
    assertEquals(256, d.numClasses());
    assertEquals(new SampleShape(3, 29, 29), d.sampleShape());
  }

  @Test
  void shouldSetOnlyTheCentredNineByNinePatchToIndexOver255() {
    final OverfitDataset d = new OverfitDataset();
    final float[] px = new float[29 * 29 * 3];
    java.util.Arrays.fill(px, -1f); // stale data must be overwritten
    final int[] labels = {-1, -1};
    d.sample(7, px, labels, 1);
    assertEquals(7, labels[1]);
    // The patch spans rows and columns 10..18 (29 = 10 + 9 + 10).
    for (int y = 0; y < 29; y++) {
      for (int x = 0; x < 29; x++) {
        final boolean inside = y >= 10 && y <= 18 && x >= 10 && x <= 18;
        for (int c = 0; c < 3; c++) {
          assertEquals(inside ? 7 / 255f : 0f, px[(y * 29 + x) * 3 + c], "y=" + y + " x=" + x);
        }
      }
    }
  }

  @Test
  void shouldRejectMoreThan256ImagesBecausePatchValuesWouldExceedOne() {
    assertThrows(IllegalArgumentException.class, () -> new OverfitDataset(257));
  }
}
