package io.synctower.common.data;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;

/** File reading shared by the loaders: whole files into memory, gzip detected by content. */
final class DataFiles {
  private DataFiles() {}

  /**
   * Reads {@code file} fully into a new array (owned by the caller). If the file starts with the
   * gzip magic bytes {@code 1f 8b} it is decompressed, whatever its name.
   *
   * @throws DataException if the file cannot be read or is corrupt gzip; names the file
   */
  static byte[] readMaybeGzipped(final Path file) {
    final byte[] raw;
    try {
      raw = Files.readAllBytes(file);
    } catch (final IOException e) {
      throw new DataException(file + ": cannot read file: " + e, e);
    }
    if (raw.length >= 2 && (raw[0] & 0xFF) == 0x1F && (raw[1] & 0xFF) == 0x8B) {
      try (InputStream in = new GZIPInputStream(new java.io.ByteArrayInputStream(raw))) {
        return in.readAllBytes();
      } catch (final IOException e) {
        throw new DataException(
            file + ": starts with the gzip magic 1f 8b but does not decompress: " + e, e);
      }
    }
    return raw;
  }

  /** Big-endian unsigned 32-bit value at {@code offset} as a long. */
  static long u32be(final byte[] b, final int offset) {
    return ((b[offset] & 0xFFL) << 24)
        | ((b[offset + 1] & 0xFFL) << 16)
        | ((b[offset + 2] & 0xFFL) << 8)
        | (b[offset + 3] & 0xFFL);
  }
}
