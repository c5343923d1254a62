package io.synctower.common.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.data.ShapesDataset.Kind;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class ShapesDatasetTest {
  private static float[] pixels(final Dataset d, final int index, final int[] labels) {
    final float[] px = new float[d.sampleShape().elementCount()];
    d.sample(index, px, labels, 0);
    return px;
  }

  @Test
  void shouldRenderTheSameSampleForTheSameSeedAndIndexOnly() {
    final ShapesDataset a = ShapesDataset.builder().seed(5).size(100).build();
    final ShapesDataset b = ShapesDataset.builder().seed(5).size(100).build();
    final ShapesDataset other = ShapesDataset.builder().seed(6).size(100).build();
    final int[] la = new int[1];
    final int[] lb = new int[1];
    for (final int i : new int[] {0, 17, 99}) {
      final float[] pa = pixels(a, i, la);
      final float[] pb = pixels(b, i, lb);
      assertArrayEquals(pa, pb, "sample " + i);
      assertEquals(la[0], lb[0]);
      // Rendering twice from the same instance (no state carried between calls).
      assertArrayEquals(pa, pixels(a, i, lb));
      assertFalse(Arrays.equals(pa, pixels(other, i, lb)), "another seed, another image");
    }
    assertFalse(Arrays.equals(pixels(a, 1, la), pixels(a, 2, lb)));
  }

  @Test
  void shouldDrawKindsThatContainOrMissTheirCentreAsDrawnOnPaper() {
    // Centre (0, 0) of the shape's frame: filled kinds hold it, hollow ones do not.
    for (final Kind k : new Kind[] {Kind.DISC, Kind.SQUARE, Kind.TRIANGLE, Kind.CROSS, Kind.BAR}) {
      assertTrue(k.contains(0, 0), k.name());
    }
    for (final Kind k : new Kind[] {Kind.RING, Kind.FRAME, Kind.TWO_DOTS}) {
      assertFalse(k.contains(0, 0), k.name());
    }
    // Points that tell the kinds apart.
    assertTrue(Kind.RING.contains(0.8, 0));
    assertTrue(Kind.DISC.contains(0, 0.9));
    assertFalse(Kind.SQUARE.contains(0, 0.9), "the square's half side is 0.7");
    assertTrue(Kind.SQUARE.contains(0.65, 0.65), "its corner");
    assertFalse(Kind.DISC.contains(0.7, 0.7), "outside radius 0.95");
    assertTrue(Kind.FRAME.contains(0.6, 0.1));
    assertTrue(Kind.TRIANGLE.contains(0, 0.95), "the apex at (0, 1)");
    assertFalse(Kind.TRIANGLE.contains(0, -0.6), "below the base at -1/2");
    assertFalse(Kind.TRIANGLE.contains(0.5, 0.5), "beyond the edge b = 1 - sqrt(3) a");
    assertTrue(Kind.CROSS.contains(0.9, 0.1));
    assertFalse(Kind.CROSS.contains(0.5, 0.5));
    assertTrue(Kind.BAR.contains(0.85, 0.25));
    assertFalse(Kind.BAR.contains(0, 0.4));
    assertTrue(Kind.TWO_DOTS.contains(0.6, 0) && Kind.TWO_DOTS.contains(-0.6, 0));
    // Stripes of width 0.35, numbered floor((a + 2) / 0.35), even ones drawn: a = 0 is stripe 5
    // (off), a = 0.2 and 0.4 stripe 6 (on), a = 0.6 stripe 7 (off).
    assertFalse(Kind.STRIPED_DISC.contains(0, 0));
    assertTrue(Kind.STRIPED_DISC.contains(0.2, 0));
    assertFalse(Kind.STRIPED_DISC.contains(0.6, 0));
    assertTrue(Kind.STRIPED_DISC.contains(0.4, -0.8), "stripes run along b");
    // Checkers of 0.35 from the corner (-0.7, -0.7): cell (0, 0) on, (1, 0) off, (1, 1) on.
    assertTrue(Kind.CHECKERED_SQUARE.contains(-0.6, -0.6));
    assertFalse(Kind.CHECKERED_SQUARE.contains(-0.2, -0.6));
    assertTrue(Kind.CHECKERED_SQUARE.contains(-0.2, -0.2));
    // Every kind fits in the unit disc, which the layout keeps inside the image.
    for (final Kind k : Kind.values()) {
      for (double t = 0; t < 2 * Math.PI; t += 0.01) {
        assertFalse(k.contains(1.001 * Math.cos(t), 1.001 * Math.sin(t)), k.name() + " at " + t);
      }
    }
  }

  @Test
  void shouldPaintTheShapeOverThePlainBackgroundWithoutNoise() {
    final ShapesDataset d = ShapesDataset.builder().seed(3).size(200).noise(0).build();
    final int[] labels = new int[1];
    for (int i = 0; i < 200; i++) {
      final ShapesDataset.Layout l = d.layout(i);
      final float[] px = pixels(d, i, labels);
      assertEquals(l.kind().ordinal(), labels[0]);
      // Inside the image.
      assertTrue(l.centreX() - l.radius() >= 0 && l.centreX() + l.radius() <= 32, "x " + i);
      assertTrue(l.centreY() - l.radius() >= 0 && l.centreY() + l.radius() <= 32, "y " + i);
      for (int y = 0; y < 32; y++) {
        for (int x = 0; x < 32; x++) {
          final double far = Math.hypot(x + 0.5 - l.centreX(), y + 0.5 - l.centreY());
          for (int c = 0; c < 3; c++) {
            final float v = px[(y * 32 + x) * 3 + c];
            if (far > l.radius() + 1) {
              assertEquals((float) l.background()[c], v, "sample " + i + " far pixel");
            }
          }
        }
      }
      // The pixel under the centre of a filled kind is all foreground, when it lies well inside.
      if (l.kind() == Kind.DISC && l.radius() > 4) {
        final int at = ((int) l.centreY() * 32 + (int) l.centreX()) * 3;
        for (int c = 0; c < 3; c++) {
          assertEquals((float) l.foreground()[c], px[at + c], "sample " + i + " centre");
        }
      }
      double contrast = 0;
      for (int c = 0; c < 3; c++) {
        contrast += Math.abs(l.foreground()[c] - l.background()[c]) / 3;
      }
      assertTrue(contrast >= 0.45 - 1e-12, "sample " + i + " contrast " + contrast);
    }
  }

  @Test
  void shouldKeepValuesInTheUnitIntervalWithNoise() {
    final ShapesDataset d = ShapesDataset.builder().seed(9).size(50).noise(1).build();
    final int[] labels = new int[1];
    for (int i = 0; i < 50; i++) {
      for (final float v : pixels(d, i, labels)) {
        assertTrue(v >= 0f && v <= 1f, "sample " + i + ": " + v);
      }
    }
  }

  @Test
  void shouldBalanceClassesAndGiveThemNoColourCue() {
    final int n = 4000;
    final ShapesDataset d = ShapesDataset.builder().seed(1).size(n).build();
    final int[] counts = new int[10];
    final double[][] sum = new double[10][3];
    final double[][] means = new double[n][3];
    final int[] truth = new int[n];
    final int[] labels = new int[1];
    for (int i = 0; i < n; i++) {
      final float[] px = pixels(d, i, labels);
      truth[i] = labels[0];
      counts[labels[0]]++;
      for (int p = 0; p < 1024; p++) {
        for (int c = 0; c < 3; c++) {
          means[i][c] += px[p * 3 + c] / 1024.0;
        }
      }
      for (int c = 0; c < 3; c++) {
        sum[labels[0]][c] += means[i][c];
      }
    }
    for (int k = 0; k < 10; k++) {
      assertTrue(counts[k] > 320 && counts[k] < 480, "class " + k + ": " + counts[k]);
    }
    // Nearest class centroid on the mean colour, fitted on these very samples: near chance (0.1).
    int right = 0;
    for (int i = 0; i < n; i++) {
      int best = -1;
      double bestDistance = Double.MAX_VALUE;
      for (int k = 0; k < 10; k++) {
        double dist = 0;
        for (int c = 0; c < 3; c++) {
          final double e = means[i][c] - sum[k][c] / counts[k];
          dist += e * e;
        }
        if (dist < bestDistance) {
          bestDistance = dist;
          best = k;
        }
      }
      if (best == truth[i]) {
        right++;
      }
    }
    assertTrue(right < 0.2 * n, "mean colour predicts the class of " + right + " of " + n);
  }

  @Test
  void shouldUseTheFirstKindsForFewerClassesAndOtherShapes() {
    final ShapesDataset d =
        ShapesDataset.builder().size(300).classes(3).channels(1).height(16).width(40).build();
    assertEquals(3, d.numClasses());
    assertEquals(new SampleShape(1, 16, 40), d.sampleShape());
    final int[] labels = new int[1];
    for (int i = 0; i < 300; i++) {
      pixels(d, i, labels);
      assertTrue(labels[0] >= 0 && labels[0] < 3);
      final ShapesDataset.Layout l = d.layout(i);
      assertTrue(l.centreX() - l.radius() >= 0 && l.centreX() + l.radius() <= 40);
      assertTrue(l.centreY() - l.radius() >= 0 && l.centreY() + l.radius() <= 16);
    }
    assertThrows(IndexOutOfBoundsException.class, () -> pixels(d, 300, labels));
  }

  @Test
  void shouldRejectOptionsOutOfRangeNamingThem() {
    final String classes =
        assertThrows(
                IllegalArgumentException.class, () -> ShapesDataset.builder().classes(11).build())
            .getMessage();
    assertTrue(classes.contains("classes must be in 2..10, got 11"), classes);
    assertThrows(IllegalArgumentException.class, () -> ShapesDataset.builder().channels(2).build());
    assertThrows(IllegalArgumentException.class, () -> ShapesDataset.builder().height(7).build());
    assertThrows(IllegalArgumentException.class, () -> ShapesDataset.builder().noise(1.5).build());
    assertThrows(IllegalArgumentException.class, () -> ShapesDataset.builder().size(0).build());
  }
}
