package io.synctower.common.data;

import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * Reads and writes NumPy {@code .npz} archives: a zip file with one {@code .npy} entry per array,
 * named {@code <key>.npy} (what {@code np.savez} and {@code np.savez_compressed} produce).
 *
 * <p>The reader uses the zip central directory ({@link NpzArchive}), so stored and deflated
 * entries, zip64 and entries with data descriptors all work; keys keep the archive's order. Memory:
 * every array is read fully into its own {@link NpyArray}; the returned map and arrays belong to
 * the caller. Stateless and thread-safe.
 */
public final class Npz {
  private static final String SUFFIX = ".npy";

  private Npz() {}

  /**
   * Reads every array of {@code file}, keyed by entry name without the {@code .npy} suffix, in
   * archive order, with the bounds of {@link NpzArchive}. Callers that need only some keys should
   * use {@link NpzArchive} and read just those.
   *
   * @throws DataException naming the file (and entry) if it is not a zip, an entry is not a valid
   *     {@code .npy} image, two entries map to the same key, or an entry's sizes do not agree
   */
  public static Map<String, NpyArray> read(final Path file) {
    final Map<String, NpyArray> arrays = new LinkedHashMap<>();
    try (NpzArchive archive = NpzArchive.open(file)) {
      for (final String key : archive.keys()) {
        arrays.put(key, archive.read(key));
      }
    }
    return arrays;
  }

  /** 1980-01-01 00:00 local time, the earliest time a zip entry can record. */
  private static final long FIXED_ENTRY_TIME =
      java.time.LocalDateTime.of(1980, 1, 1, 0, 0)
          .atZone(java.time.ZoneId.systemDefault())
          .toInstant()
          .toEpochMilli();

  /**
   * Writes {@code arrays} to {@code file} (replacing it) as entries {@code <key>.npy}, in the map's
   * iteration order, deflated if {@code compressed} (like {@code np.savez_compressed}) or stored
   * (like {@code np.savez}). Each array is serialized once into a temporary {@code byte[]}.
   *
   * @throws DataException naming the file if it cannot be written
   */
  public static void write(
      final Path file, final Map<String, NpyArray> arrays, final boolean compressed) {
    try (OutputStream os = new BufferedOutputStream(Files.newOutputStream(file));
        ZipOutputStream zip = new ZipOutputStream(os)) {
      for (final Map.Entry<String, NpyArray> e : arrays.entrySet()) {
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        Npy.write(bytes, e.getValue());
        final byte[] body = bytes.toByteArray();
        final ZipEntry entry = new ZipEntry(e.getKey() + SUFFIX);
        // A fixed timestamp: the same arrays give the same bytes whenever they are written, so
        // weight files can be compared and hashed (numpy's savez does the same).
        entry.setTime(FIXED_ENTRY_TIME);
        if (compressed) {
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
    } catch (final IOException e) {
      throw new DataException(file + ": cannot write .npz archive: " + e, e);
    }
  }
}
