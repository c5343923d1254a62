package io.synctower.common.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NpzDatasetTest {
  @TempDir Path dir;

  private Path npz(final NpyArray x, final NpyArray y) {
    final Map<String, NpyArray> m = new LinkedHashMap<>();
    if (x != null) {
      m.put("x", x);
    }
    if (y != null) {
      m.put("y", y);
    }
    final Path file = dir.resolve("d.npz");
    Npz.write(file, m, true);
    return file;
  }

  @Test
  void shouldTransposeChwImagesToHwcOnce() {
    // x[n, c, h, w] = 1000n + 100c + 10h + w for N=2, C=3, H=2, W=2.
    final float[] chw = new float[2 * 3 * 2 * 2];
    int i = 0;
    for (int n = 0; n < 2; n++) {
      for (int c = 0; c < 3; c++) {
        for (int h = 0; h < 2; h++) {
          for (int w = 0; w < 2; w++) {
            chw[i++] = 1000 * n + 100 * c + 10 * h + w;
          }
        }
      }
    }
    final NpzDataset d =
        new NpzDataset(
            npz(NpyArray.ofFloats(chw, 2, 3, 2, 2), NpyArray.ofLongs(new long[] {4, 9}, 2)), 10);
    assertEquals(new SampleShape(3, 2, 2), d.sampleShape());
    final float[] px = new float[12];
    final int[] labels = new int[1];
    d.sample(1, px, labels, 0);
    assertArrayEquals(
        new float[] {
          1000, 1100, 1200, // h=0 w=0, channels 0..2
          1001, 1101, 1201, // h=0 w=1
          1010, 1110, 1210, // h=1 w=0
          1011, 1111, 1211 // h=1 w=1
        },
        px);
    assertEquals(9, labels[0]);
  }

  @Test
  void shouldReadFlatFeaturesAndMultiPositionLabelsAndScaleUint8() {
    final NpyArray x = NpyArray.ofBytes(NpyDtype.UINT8, new byte[] {0, (byte) 255, 51, 102}, 2, 2);
    final NpyArray y = NpyArray.ofInts(new int[] {0, 1, 2, 0}, 2, 2);
    final NpzDataset d = new NpzDataset(npz(x, y));
    assertEquals(new SampleShape(2, 1, 1), d.sampleShape());
    assertEquals(2, d.labelPositions());
    assertEquals(3, d.numClasses()); // inferred: largest label 2, plus one
    final float[] px = new float[2];
    final int[] labels = new int[3];
    d.sample(1, px, labels, 1);
    assertArrayEquals(new float[] {0.2f, 0.4f}, px);
    assertArrayEquals(new int[] {0, 2, 0}, labels);
  }

  @Test
  void shouldNameTheKeysPresentWhenXIsMissing() {
    final Path file = npz(null, NpyArray.ofInts(new int[] {1}, 1));
    final DataException e = assertThrows(DataException.class, () -> new NpzDataset(file));
    assertTrue(e.getMessage().contains("no array 'x'"), e.getMessage());
    assertTrue(e.getMessage().contains("keys present: [y]"), e.getMessage());
  }

  @Test
  void shouldRejectDifferentSampleAndLabelCounts() {
    final Path file =
        npz(NpyArray.ofFloats(new float[6], 3, 2), NpyArray.ofInts(new int[] {0, 1}, 2));
    final DataException e = assertThrows(DataException.class, () -> new NpzDataset(file));
    assertTrue(e.getMessage().contains("x holds 3 samples but y holds 2 labels"), e.getMessage());
  }

  @Test
  void shouldRejectALabelOutOfRangeNamingSampleAndPosition() {
    final Path file =
        npz(NpyArray.ofFloats(new float[4], 2, 2), NpyArray.ofInts(new int[] {0, 1, 5, 0}, 2, 2));
    final DataException e = assertThrows(DataException.class, () -> new NpzDataset(file, 4));
    assertTrue(e.getMessage().contains("sample 1 position 0 is 5, expected 0..3"), e.getMessage());
  }

  @Test
  void shouldRejectFloatLabels() {
    final Path file =
        npz(NpyArray.ofFloats(new float[2], 2, 1), NpyArray.ofFloats(new float[] {0, 1}, 2));
    final DataException e = assertThrows(DataException.class, () -> new NpzDataset(file));
    assertTrue(
        e.getMessage().contains("y has dtype '<f4', expected integer labels"), e.getMessage());
  }
}
