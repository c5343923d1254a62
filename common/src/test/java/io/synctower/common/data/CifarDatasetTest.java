package io.synctower.common.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.data.CifarDataset.Labels;
import io.synctower.common.data.CifarDataset.Part;
import io.synctower.common.data.CifarDataset.Variant;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * CIFAR binary files the test writes itself: records made by hand following the format on the CIFAR
 * page (label byte(s), then the R, G and B planes, each 32x32 row-major).
 */
class CifarDatasetTest {
  private static final String[] TRAIN10 = {
    "data_batch_1.bin",
    "data_batch_2.bin",
    "data_batch_3.bin",
    "data_batch_4.bin",
    "data_batch_5.bin"
  };

  @TempDir Path dir;

  /** A record whose every pixel byte is {@code fill}, with the given label byte(s). */
  private static byte[] record(final int fill, final int... labelBytes) {
    final byte[] r = new byte[labelBytes.length + 3072];
    for (int i = 0; i < labelBytes.length; i++) {
      r[i] = (byte) labelBytes[i];
    }
    java.util.Arrays.fill(r, labelBytes.length, r.length, (byte) fill);
    return r;
  }

  private static void write(final Path file, final byte[]... records) throws IOException {
    final ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (final byte[] r : records) {
      out.write(r);
    }
    Files.write(file, out.toByteArray());
  }

  /**
   * A CIFAR-10 directory: train files holding 2, 1, 3, 1, 2 records and a test file of 4; record j
   * of the whole train split has label j % 10 and pixels j (test: label 9 - j, pixels 100 + j).
   */
  private Path cifar10() throws IOException {
    final int[] perFile = {2, 1, 3, 1, 2};
    int j = 0;
    for (int f = 0; f < TRAIN10.length; f++) {
      final byte[][] records = new byte[perFile[f]][];
      for (int r = 0; r < perFile[f]; r++, j++) {
        records[r] = record(j, j % 10);
      }
      write(dir.resolve(TRAIN10[f]), records);
    }
    write(
        dir.resolve("test_batch.bin"),
        record(100, 9),
        record(101, 8),
        record(102, 7),
        record(103, 6));
    return dir;
  }

  private static int label(final Dataset d, final int index) {
    final int[] labels = new int[1];
    d.sample(index, new float[3072], labels, 0);
    return labels[0];
  }

  private static float firstPixel(final Dataset d, final int index) {
    final float[] px = new float[3072];
    d.sample(index, px, new int[1], 0);
    return px[0];
  }

  @Test
  void shouldMoveEachColourPlaneIntoItsChannelAtTheSamePixel() throws IOException {
    // Hand-placed bytes: R plane pixel (row 0, col 1), G plane pixel (row 1, col 0), B plane
    // pixel (row 31, col 31); the plane offsets are 0, 1024 and 2048 after the label byte.
    final byte[] r = record(10, 3);
    r[1 + 1] = (byte) 200; // R at y=0, x=1
    r[1 + 1024 + 32] = (byte) 100; // G at y=1, x=0
    r[1 + 2048 + 31 * 32 + 31] = (byte) 255; // B at y=31, x=31
    r[1 + 2048] = (byte) 7; // B at y=0, x=0
    for (final String f : TRAIN10) {
      write(dir.resolve(f), r);
    }
    write(dir.resolve("test_batch.bin"), r);
    final CifarDataset d = new CifarDataset(dir, Variant.CIFAR10, Part.TRAIN, Labels.FINE, 0);
    final float[] px = new float[3072];
    final int[] labels = new int[2];
    d.sample(0, px, labels, 1);
    assertEquals(3, labels[1]);
    // HWC: value (y, x, c) at (y * 32 + x) * 3 + c.
    assertEquals(200 / 255f, px[(0 * 32 + 1) * 3 + 0]);
    assertEquals(100 / 255f, px[(1 * 32 + 0) * 3 + 1]);
    assertEquals(1f, px[(31 * 32 + 31) * 3 + 2]);
    assertEquals(7 / 255f, px[2]);
    int changed = 0;
    for (final float v : px) {
      if (v != 10 / 255f) {
        changed++;
      }
    }
    assertEquals(4, changed, "only the four hand-placed values differ from the fill");
    assertEquals(new SampleShape(3, 32, 32), d.sampleShape());
  }

  @Test
  void shouldGiveEveryByteOver255InFloat32AndInDouble() throws IOException {
    // Pixel k of plane c holds (k + 85 c) mod 256: all 256 values in every channel.
    final byte[] r = new byte[1 + 3072];
    for (int c = 0; c < 3; c++) {
      for (int k = 0; k < 1024; k++) {
        r[1 + c * 1024 + k] = (byte) (k + 85 * c);
      }
    }
    write(dir.resolve("test_batch.bin"), r);
    final CifarDataset d = new CifarDataset(dir, Variant.CIFAR10, Part.TEST, Labels.FINE, 0);
    assertTrue(d.holdsFloat64());
    final float[] f = new float[3072];
    final double[] x = new double[3072];
    final int[] labels = new int[1];
    d.sample(0, f, labels, 0);
    d.sampleFloat64(0, x, labels, 0);
    for (int k = 0; k < 1024; k++) {
      for (int c = 0; c < 3; c++) {
        final int b = (k + 85 * c) & 0xFF;
        assertEquals(b / 255f, f[k * 3 + c], "k=" + k + " c=" + c);
        assertEquals(b / 255.0, x[k * 3 + c], "k=" + k + " c=" + c);
      }
    }
  }

  @Test
  void shouldNumberTrainSamplesThroughTheFiveBatchesInOrder() throws IOException {
    final CifarDataset train =
        new CifarDataset(cifar10(), Variant.CIFAR10, Part.TRAIN, Labels.FINE, 0);
    assertEquals(9, train.size());
    assertEquals(10, train.numClasses());
    assertEquals(1, train.labelPositions());
    for (int j = 0; j < 9; j++) {
      assertEquals(j % 10, label(train, j), "sample " + j);
      assertEquals(j / 255f, firstPixel(train, j), "sample " + j);
    }
    final CifarDataset test = new CifarDataset(dir, Variant.CIFAR10, Part.TEST, Labels.FINE, 0);
    assertEquals(4, test.size());
    for (int j = 0; j < 4; j++) {
      assertEquals(9 - j, label(test, j));
      assertEquals((100 + j) / 255f, firstPixel(test, j));
    }
    assertTrue(test.describe().contains("split=test"), test.describe());
  }

  @Test
  void shouldReadOnlyTheFirstSizeRecordsAcrossFiles() throws IOException {
    final CifarDataset d = new CifarDataset(cifar10(), Variant.CIFAR10, Part.TRAIN, Labels.FINE, 4);
    assertEquals(4, d.size());
    assertEquals(3 / 255f, firstPixel(d, 3), "sample 3 is the first record of the third file");
    assertThrows(IndexOutOfBoundsException.class, () -> label(d, 4));
    final DataException e =
        assertThrows(
            DataException.class,
            () -> new CifarDataset(dir, Variant.CIFAR10, Part.TRAIN, Labels.FINE, 10));
    assertTrue(e.getMessage().contains("9 records of the train split"), e.getMessage());
  }

  @Test
  void shouldTakeTheFineOrTheCoarseLabelOfCifar100() throws IOException {
    write(dir.resolve("train.bin"), record(1, 19, 99), record(2, 0, 42), record(3, 7, 0));
    write(dir.resolve("test.bin"), record(4, 5, 55));
    final CifarDataset fine = new CifarDataset(dir, Variant.CIFAR100, Part.TRAIN, Labels.FINE, 0);
    final CifarDataset coarse =
        new CifarDataset(dir, Variant.CIFAR100, Part.TRAIN, Labels.COARSE, 0);
    assertEquals(100, fine.numClasses());
    assertEquals(20, coarse.numClasses());
    assertEquals(3, fine.size());
    assertEquals(99, label(fine, 0));
    assertEquals(42, label(fine, 1));
    assertEquals(0, label(fine, 2));
    assertEquals(19, label(coarse, 0));
    assertEquals(0, label(coarse, 1));
    assertEquals(7, label(coarse, 2));
    assertEquals(3 / 255f, firstPixel(fine, 2), "pixels start after both label bytes");
    final CifarDataset test = new CifarDataset(dir, Variant.CIFAR100, Part.TEST, Labels.COARSE, 0);
    assertEquals(1, test.size());
    assertEquals(5, label(test, 0));
    assertEquals(4 / 255f, firstPixel(test, 0));
  }

  @Test
  void shouldNameTheExpectedFilesAndTheDownloadWhenTheDirectoryIsMissing() {
    final DataException e =
        assertThrows(
            DataException.class,
            () ->
                new CifarDataset(
                    dir.resolve("nowhere"), Variant.CIFAR10, Part.TRAIN, Labels.FINE, 0));
    final String m = e.getMessage();
    assertTrue(m.contains("nowhere: directory not found"), m);
    assertTrue(m.contains("data_batch_1.bin"), m);
    assertTrue(m.contains("test_batch.bin"), m);
    assertTrue(m.contains("https://www.cs.toronto.edu/~kriz/cifar.html"), m);
    assertTrue(m.contains("\"CIFAR-10 binary version\""), m);
  }

  @Test
  void shouldNameTheMissingFilesOfTheSplit() throws IOException {
    cifar10();
    Files.delete(dir.resolve("data_batch_4.bin"));
    final String m =
        assertThrows(
                DataException.class,
                () -> new CifarDataset(dir, Variant.CIFAR10, Part.TRAIN, Labels.FINE, 0))
            .getMessage();
    assertTrue(m.contains("missing data_batch_4.bin for the train split"), m);
    assertFalse(m.contains("missing data_batch_1.bin"), m);
    // The test split does not need the train files.
    assertEquals(4, new CifarDataset(dir, Variant.CIFAR10, Part.TEST, Labels.FINE, 0).size());

    final String m100 =
        assertThrows(
                DataException.class,
                () -> new CifarDataset(dir, Variant.CIFAR100, Part.TEST, Labels.FINE, 0))
            .getMessage();
    assertTrue(m100.contains("missing test.bin"), m100);
    assertTrue(m100.contains("\"CIFAR-100 binary version\""), m100);
  }

  @Test
  void shouldPointFromTheParentDirectoryToTheExtractedOne() throws IOException {
    final Path inner = Files.createDirectory(dir.resolve("cifar-10-batches-bin"));
    write(inner.resolve("test_batch.bin"), record(0, 0));
    final String m =
        assertThrows(
                DataException.class,
                () -> new CifarDataset(dir, Variant.CIFAR10, Part.TEST, Labels.FINE, 0))
            .getMessage();
    assertTrue(m.contains("use " + inner + " as path"), m);
  }

  @Test
  void shouldRejectAFileThatIsNotWholeRecords() throws IOException {
    write(dir.resolve("test_batch.bin"), record(0, 0), new byte[100]);
    final String m =
        assertThrows(
                DataException.class,
                () -> new CifarDataset(dir, Variant.CIFAR10, Part.TEST, Labels.FINE, 0))
            .getMessage();
    assertTrue(m.contains("test_batch.bin: 3173 bytes is not a whole number"), m);
    assertTrue(m.contains("records of 3073 bytes"), m);
    // A CIFAR-10 file read as CIFAR-100 (3074-byte records) fails the same way.
    write(dir.resolve("test.bin"), record(0, 0), record(0, 0));
    final String m100 =
        assertThrows(
                DataException.class,
                () -> new CifarDataset(dir, Variant.CIFAR100, Part.TEST, Labels.FINE, 0))
            .getMessage();
    assertTrue(m100.contains("test.bin: 6146 bytes is not a whole number"), m100);
    Files.write(dir.resolve("test.bin"), new byte[0]);
    final String empty =
        assertThrows(
                DataException.class,
                () -> new CifarDataset(dir, Variant.CIFAR100, Part.TEST, Labels.FINE, 0))
            .getMessage();
    assertTrue(empty.contains("test.bin: empty file"), empty);
  }

  @Test
  void shouldNameTheFileAndRecordOfALabelOutOfRange() throws IOException {
    write(dir.resolve("test_batch.bin"), record(0, 9), record(0, 10));
    final String m =
        assertThrows(
                DataException.class,
                () -> new CifarDataset(dir, Variant.CIFAR10, Part.TEST, Labels.FINE, 0))
            .getMessage();
    assertTrue(m.contains("test_batch.bin: record 1 (offset 3073) has label 10, expected 0..9"), m);

    // CIFAR-100: both labels are checked, whichever is used.
    write(dir.resolve("test.bin"), record(0, 1, 1), record(0, 2, 2), record(0, 3, 100));
    final String fine =
        assertThrows(
                DataException.class,
                () -> new CifarDataset(dir, Variant.CIFAR100, Part.TEST, Labels.COARSE, 0))
            .getMessage();
    assertTrue(fine.contains("record 2 (offset 6149) has fine label 100, expected 0..99"), fine);
    write(dir.resolve("test.bin"), record(0, 20, 1));
    final String coarse =
        assertThrows(
                DataException.class,
                () -> new CifarDataset(dir, Variant.CIFAR100, Part.TEST, Labels.FINE, 0))
            .getMessage();
    assertTrue(coarse.contains("record 0 (offset 0) has coarse label 20, expected 0..19"), coarse);
  }

  @Test
  void shouldRefuseCoarseLabelsForCifar10() throws IOException {
    cifar10();
    assertThrows(
        IllegalArgumentException.class,
        () -> new CifarDataset(dir, Variant.CIFAR10, Part.TEST, Labels.COARSE, 0));
  }
}
