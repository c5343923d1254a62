package io.synctower.common.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.testing.Fuzz;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The attacks on {@code .npz} reading from issue 12: decompression bombs (entries that are not
 * needed are never inflated; an entry never inflates past its header), sizes that disagree, and an
 * empty dimension.
 */
public class NpzBoundsTest {
  @TempDir Path dir;

  /** Entries of a zip: name to bytes, deflated or stored. */
  public static byte[] zip(final Map<String, byte[]> entries, final boolean deflated)
      throws Exception {
    final ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (ZipOutputStream zip = new ZipOutputStream(out)) {
      for (final Map.Entry<String, byte[]> e : entries.entrySet()) {
        final ZipEntry entry = new ZipEntry(e.getKey());
        final byte[] body = e.getValue();
        if (deflated) {
          entry.setMethod(ZipEntry.DEFLATED);
        } else {
          final CRC32 crc = new CRC32();
          crc.update(body);
          entry.setMethod(ZipEntry.STORED);
          entry.setSize(body.length);
          entry.setCompressedSize(body.length);
          entry.setCrc(crc.getValue());
        }
        zip.putNextEntry(entry);
        zip.write(body);
        zip.closeEntry();
      }
    }
    return out.toByteArray();
  }

  /** The bytes of {@code a} as a {@code .npy} image. */
  public static byte[] npy(final NpyArray a) throws Exception {
    final ByteArrayOutputStream out = new ByteArrayOutputStream();
    Npy.write(out, a);
    return out.toByteArray();
  }

  /** A valid {@code .npy} image of {@code n} zero bytes (uint8): a bomb once deflated. */
  public static byte[] zeros(final int n) {
    final byte[] header = Npy.header(NpyDtype.UINT8, new long[] {n});
    final byte[] out = new byte[header.length + n];
    System.arraycopy(header, 0, out, 0, header.length);
    return out;
  }

  /** Sets the uncompressed size of entry {@code name} in the central directory to {@code size}. */
  public static void setCentralSize(final byte[] zip, final String name, final long size) {
    final byte[] n = name.getBytes(StandardCharsets.UTF_8);
    for (int i = 0; i + 46 + n.length <= zip.length; i++) {
      if (zip[i] == 'P' && zip[i + 1] == 'K' && zip[i + 2] == 1 && zip[i + 3] == 2) {
        final int nameLength = (zip[i + 28] & 0xFF) | (zip[i + 29] & 0xFF) << 8;
        if (nameLength == n.length
            && new String(zip, i + 46, nameLength, StandardCharsets.UTF_8).equals(name)) {
          for (int k = 0; k < 4; k++) {
            zip[i + 24 + k] = (byte) (size >>> (8 * k));
          }
          return;
        }
      }
    }
    throw new IllegalArgumentException("no central entry " + name);
  }

  private Map<String, byte[]> dataset() throws Exception {
    final Map<String, byte[]> entries = new LinkedHashMap<>();
    entries.put(
        "x.npy", npy(NpyArray.ofBytes(NpyDtype.UINT8, new byte[] {1, 2, 3, 4}, 2, 1, 2, 1)));
    entries.put("y.npy", npy(NpyArray.ofLongs(new long[] {0, 1}, 2)));
    return entries;
  }

  @Test
  void aDatasetNeverInflatesEntriesItDoesNotNeed() throws Exception {
    final Map<String, byte[]> entries = dataset();
    entries.put("junk.npy", zeros(96 << 20)); // 96 MiB of zeros, about 100 KiB deflated
    final Path file = dir.resolve("d.npz");
    Files.write(file, zip(entries, true));
    // Reading the junk entry allocated its 96 MiB (more, counting readNBytes' copy).
    Fuzz.expect("bomb beside x and y", () -> assertEquals(2, new NpzDataset(file).size()));
  }

  @Test
  void aDamagedEntryThatIsNotNeededDoesNotMatter() throws Exception {
    final Map<String, byte[]> entries = dataset();
    entries.put("junk.npy", "not an array".getBytes(StandardCharsets.US_ASCII));
    final Path file = dir.resolve("d.npz");
    Files.write(file, zip(entries, true));
    assertEquals(2, new NpzDataset(file).size());
  }

  @Test
  void anEntryThatInflatesPastItsHeaderIsRefused() throws Exception {
    final byte[] x = npy(NpyArray.ofBytes(NpyDtype.UINT8, new byte[] {1, 2, 3, 4}, 2, 1, 2, 1));
    final byte[] padded = new byte[x.length + (1 << 20)];
    System.arraycopy(x, 0, padded, 0, x.length);
    final Map<String, byte[]> entries = dataset();
    entries.put("x.npy", padded);
    final byte[] zip = zip(entries, true);
    setCentralSize(zip, "x.npy", x.length); // the directory lies: it declares the header's size
    final Path file = dir.resolve("d.npz");
    Files.write(file, zip);
    final DataException e = assertThrows(DataException.class, () -> new NpzDataset(file));
    assertTrue(
        e.getMessage().startsWith(file + "!x.npy: the entry inflates to more"), e.getMessage());
  }

  @Test
  void anEntryWhoseDeclaredSizeDisagreesWithItsHeaderIsRefused() throws Exception {
    final Map<String, byte[]> entries = dataset();
    final byte[] x = entries.get("x.npy");
    final byte[] longer = new byte[x.length + 10];
    System.arraycopy(x, 0, longer, 0, x.length);
    entries.put("x.npy", longer);
    final Path file = dir.resolve("d.npz");
    Files.write(file, zip(entries, false));
    final DataException e = assertThrows(DataException.class, () -> Npz.read(file));
    assertTrue(
        e.getMessage().contains("x.npy: the zip directory declares " + longer.length),
        e.getMessage());
  }

  @Test
  void anEmptySampleDimensionIsAnErrorNamingTheDimension() throws Exception {
    final Map<String, NpyArray> arrays = new LinkedHashMap<>();
    arrays.put("x", NpyArray.ofFloats(new float[0], 40, 0, 8, 8));
    arrays.put("y", NpyArray.ofLongs(new long[40], 40));
    final Path file = dir.resolve("d.npz");
    Npz.write(file, arrays, false);
    final DataException e = assertThrows(DataException.class, () -> new NpzDataset(file));
    assertTrue(e.getMessage().startsWith(file.toString()), e.getMessage());
    assertTrue(e.getMessage().contains("dimension 1 is 0"), e.getMessage());
  }
}
