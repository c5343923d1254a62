package io.synctower.common.data;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;

/** File reading shared by the loaders: gzip detected by content, reads bounded by the caller. */
final class DataFiles {
  private static final int GZIP_MAGIC_0 = 0x1F;
  private static final int GZIP_MAGIC_1 = 0x8B;

  private DataFiles() {}

  /**
   * An open file: its bytes, decompressed if it starts with the gzip magic bytes {@code 1f 8b}
   * (whatever its name), and whether it was. Nothing is read beyond what the caller asks for, so a
   * caller that reads only what a header declares cannot be made to inflate more.
   */
  record Opened(InputStream in, boolean gzipped, long fileSize) implements AutoCloseable {
    @Override
    public void close() throws IOException {
      in.close();
    }
  }

  /**
   * Opens {@code file} for reading.
   *
   * @throws DataException if it cannot be opened or starts with the gzip magic but has no valid
   *     gzip header; names the file
   */
  static Opened open(final Path file) {
    InputStream in = null;
    try {
      in = new BufferedInputStream(Files.newInputStream(file), 1 << 16);
      in.mark(2);
      final boolean gzipped = in.read() == GZIP_MAGIC_0 && in.read() == GZIP_MAGIC_1;
      in.reset();
      final long size = Files.size(file);
      if (!gzipped) {
        return new Opened(in, false, size);
      }
      try {
        return new Opened(new GZIPInputStream(in, 1 << 16), true, size);
      } catch (final IOException e) {
        throw notGzip(file, e);
      }
    } catch (final IOException e) {
      closeQuietly(in, e);
      throw new DataException(file + ": cannot read file: " + e, e);
    } catch (final DataException e) {
      closeQuietly(in, e);
      throw e;
    }
  }

  /** The error for a file that starts with the gzip magic bytes but does not decompress. */
  static DataException notGzip(final Path file, final IOException e) {
    return new DataException(
        file + ": starts with the gzip magic 1f 8b but does not decompress: " + e, e);
  }

  private static void closeQuietly(final InputStream in, final Exception failure) {
    if (in != null) {
      try {
        in.close();
      } catch (final IOException e) {
        failure.addSuppressed(e);
      }
    }
  }

  /** Big-endian unsigned 32-bit value at {@code offset} as a long. */
  static long u32be(final byte[] b, final int offset) {
    return ((b[offset] & 0xFFL) << 24)
        | ((b[offset + 1] & 0xFFL) << 16)
        | ((b[offset + 2] & 0xFFL) << 8)
        | (b[offset + 3] & 0xFFL);
  }
}
