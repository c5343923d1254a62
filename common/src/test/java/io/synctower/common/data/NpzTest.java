package io.synctower.common.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class NpzTest {
  @TempDir Path dir;

  private static Map<String, NpyArray> sample() {
    final Map<String, NpyArray> m = new LinkedHashMap<>();
    m.put("zeta", NpyArray.ofFloats(new float[] {1.5f, -0f}, 2));
    m.put("alpha", NpyArray.ofLongs(new long[] {1, 2, 3, 4, 5, 6}, 3, 2));
    m.put("mid", NpyArray.ofBytes(NpyDtype.UINT8, new byte[] {(byte) 250}, 1));
    return m;
  }

  @ParameterizedTest
  @ValueSource(booleans = {false, true})
  void shouldRoundTripArraysInWriteOrder(final boolean compressed) throws Exception {
    final Path file = dir.resolve("a.npz");
    Npz.write(file, sample(), compressed);
    final Map<String, NpyArray> back = Npz.read(file);
    assertEquals(List.of("zeta", "alpha", "mid"), List.copyOf(back.keySet()));
    assertEquals(sample(), back);
    try (ZipFile zip = new ZipFile(file.toFile())) {
      final ZipEntry e = zip.getEntry("alpha.npy");
      assertEquals(compressed ? ZipEntry.DEFLATED : ZipEntry.STORED, e.getMethod());
    }
  }

  /** Entries carry no write time, so the same arrays are the same bytes whenever written. */
  @Test
  void shouldWriteTheSameBytesForTheSameArraysWheneverWritten() throws Exception {
    final Path a = dir.resolve("a.npz");
    final Path b = dir.resolve("b.npz");
    Npz.write(a, sample(), true);
    Npz.write(b, sample(), true);
    org.junit.jupiter.api.Assertions.assertArrayEquals(
        Files.readAllBytes(a), Files.readAllBytes(b));
    try (ZipFile zip = new ZipFile(a.toFile())) {
      final java.time.LocalDateTime written =
          java.time.LocalDateTime.ofInstant(
              java.time.Instant.ofEpochMilli(zip.getEntry("zeta.npy").getTime()),
              java.time.ZoneId.systemDefault());
      assertEquals(java.time.LocalDateTime.of(1980, 1, 1, 0, 0), written);
    }
  }

  @Test
  void shouldNameTheEntryWhenAnArrayInsideIsCorrupt() throws Exception {
    final Path file = dir.resolve("bad.npz");
    try (var zip = new java.util.zip.ZipOutputStream(Files.newOutputStream(file))) {
      zip.putNextEntry(new ZipEntry("x.npy"));
      zip.write(new byte[] {1, 2, 3});
      zip.closeEntry();
    }
    final DataException e = assertThrows(DataException.class, () -> Npz.read(file));
    assertTrue(e.getMessage().startsWith(file + "!x.npy: not a .npy file"), e.getMessage());
  }

  @Test
  void shouldRejectAFileThatIsNotAZipNamingIt() throws Exception {
    final Path file = dir.resolve("plain.npz");
    Files.write(file, new byte[] {1, 2, 3, 4});
    final DataException e = assertThrows(DataException.class, () -> Npz.read(file));
    assertTrue(e.getMessage().startsWith(file.toString()), e.getMessage());
  }

  @Test
  void shouldExposeRawDataAsAReadOnlyView() {
    final NpyArray a = NpyArray.ofInts(new int[] {0x01020304}, 1);
    assertTrue(a.data().isReadOnly());
    final byte[] raw = new byte[4];
    a.data().get(raw);
    assertArrayEquals(new byte[] {4, 3, 2, 1}, raw);
  }
}
