package io.synctower.common.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

class IdxDatasetTest {
  @TempDir Path dir;

  /** Two 2x3 images, bytes written out by hand: magic 0x803, n=2, rows=2, cols=3. */
  private static final byte[] IMAGES = {
    0,
    0,
    8,
    3,
    0,
    0,
    0,
    2,
    0,
    0,
    0,
    2,
    0,
    0,
    0,
    3,
    0,
    51,
    102,
    (byte) 153,
    (byte) 204,
    (byte) 255,
    1,
    2,
    3,
    4,
    5,
    6
  };

  /** Labels 7 and 2: magic 0x801, n=2. */
  private static final byte[] LABELS = {0, 0, 8, 1, 0, 0, 0, 2, 7, 2};

  private Path write(final String name, final byte[] bytes) throws Exception {
    final Path p = dir.resolve(name);
    Files.write(p, bytes);
    return p;
  }

  private static byte[] gzip(final byte[] bytes) throws Exception {
    final ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
      gz.write(bytes);
    }
    return out.toByteArray();
  }

  @Test
  void aFloat64BatchTakesBytesOver255ComputedInDouble() throws Exception {
    final IdxDataset d = new IdxDataset(write("img", IMAGES), write("lab", LABELS));
    assertTrue(d.holdsFloat64());
    final BatchAssembler assembler = new BatchAssembler(d, null);
    final INDArray x = assembler.allocate(DataType.DOUBLE, 2);
    assembler.fill(new int[] {1, 0}, 0, 2, x, new int[2]);
    final double[] got = x.data().asDouble();
    // Sample 1 first: bytes 1..6, then sample 0: 0, 51, ..., 255.
    final double[] expected = {
      1 / 255.0,
      2 / 255.0,
      3 / 255.0,
      4 / 255.0,
      5 / 255.0,
      6 / 255.0,
      0,
      51 / 255.0,
      102 / 255.0,
      153 / 255.0,
      204 / 255.0,
      1
    };
    assertArrayEquals(expected, got, 0);
    // What the float path gives a float64 model differs: the point of the double path.
    assertNotEquals(1 / 255.0, (double) (1 / 255f));
  }

  @Test
  void shouldReadPixelsAsBytesOver255AndLabels() throws Exception {
    final IdxDataset d = new IdxDataset(write("img", IMAGES), write("lab", LABELS));
    assertEquals(2, d.size());
    assertEquals(new SampleShape(1, 2, 3), d.sampleShape());
    final float[] px = new float[6];
    final int[] labels = new int[1];
    d.sample(0, px, labels, 0);
    assertArrayEquals(new float[] {0f, 0.2f, 0.4f, 0.6f, 0.8f, 1f}, px);
    assertEquals(7, labels[0]);
    d.sample(1, px, labels, 0);
    assertArrayEquals(new float[] {1 / 255f, 2 / 255f, 3 / 255f, 4 / 255f, 5 / 255f, 6 / 255f}, px);
    assertEquals(2, labels[0]);
  }

  @Test
  void shouldDetectGzipByMagicBytesWhateverTheFileName() throws Exception {
    final IdxDataset d =
        new IdxDataset(write("images.idx", gzip(IMAGES)), write("labels.idx", LABELS));
    final float[] px = new float[6];
    d.sample(0, px, new int[1], 0);
    assertEquals(0.2f, px[1]);
  }

  @Test
  void shouldRejectWrongMagicNamingFoundAndExpected() throws Exception {
    // Images and labels swapped: the images file holds the labels magic.
    final Path labels = write("lab", LABELS);
    final DataException e = assertThrows(DataException.class, () -> new IdxDataset(labels, labels));
    assertTrue(e.getMessage().contains(labels.toString()), e.getMessage());
    assertTrue(e.getMessage().contains("0x00000801"), e.getMessage());
    assertTrue(e.getMessage().contains("0x00000803"), e.getMessage());
  }

  @Test
  void shouldRejectTruncatedImageFileNamingExpectedAndFoundBytes() throws Exception {
    final byte[] cut = java.util.Arrays.copyOf(IMAGES, IMAGES.length - 4); // 24 of 28 bytes
    final Path images = write("img", cut);
    final DataException e =
        assertThrows(DataException.class, () -> new IdxDataset(images, write("lab", LABELS)));
    assertTrue(e.getMessage().contains(images.toString()), e.getMessage());
    assertTrue(e.getMessage().contains("expected 28 bytes, found 24"), e.getMessage());
  }

  @Test
  void shouldRejectATruncatedHeader() throws Exception {
    final Path images = write("img", new byte[] {0, 0, 8, 3, 0, 0});
    final DataException e =
        assertThrows(DataException.class, () -> new IdxDataset(images, write("lab", LABELS)));
    assertTrue(e.getMessage().contains("expected 16 header bytes, found 6"), e.getMessage());
  }

  @Test
  void shouldRejectDifferentImageAndLabelCounts() throws Exception {
    final Path labels = write("lab", new byte[] {0, 0, 8, 1, 0, 0, 0, 3, 1, 2, 3});
    final DataException e =
        assertThrows(DataException.class, () -> new IdxDataset(write("img", IMAGES), labels));
    assertTrue(
        e.getMessage().contains("3 labels") && e.getMessage().contains("2 images"), e.getMessage());
  }

  @Test
  void shouldRejectALabelOutOfRangeNamingItsIndex() throws Exception {
    final Path labels = write("lab", LABELS);
    final DataException e =
        assertThrows(DataException.class, () -> new IdxDataset(write("img", IMAGES), labels, 5));
    assertTrue(e.getMessage().contains("index 0"), e.getMessage());
    assertTrue(e.getMessage().contains("is 7, expected 0..4"), e.getMessage());
  }
}
