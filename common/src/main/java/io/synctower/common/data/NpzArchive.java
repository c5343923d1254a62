package io.synctower.common.data;

import java.io.BufferedInputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * An open {@code .npz} archive read one entry at a time, so callers inflate only the arrays they
 * need: the keys come from the zip central directory (nothing is inflated to list them), a header
 * can be read without its data, and an entry is read only on request.
 *
 * <p>Bounds, so a damaged or hostile archive (a decompression bomb) is a {@link DataException} and
 * not an {@link OutOfMemoryError}: a header is at most {@link Npy#MAX_HEADER_BYTES}; the size an
 * entry declares in the central directory must equal the size its {@code .npy} header implies; the
 * data is checked against the free heap before it is read; and reading stops at the size the header
 * implies, with an error if the entry inflates past it (the declared sizes are not trusted: the
 * bytes are counted as they inflate).
 *
 * <p>Not thread-safe; close it (it holds the file open).
 */
public final class NpzArchive implements Closeable {
  private static final String SUFFIX = ".npy";

  private final Path file;
  private final ZipFile zip;
  private final Map<String, ZipEntry> entries;

  private NpzArchive(final Path file, final ZipFile zip, final Map<String, ZipEntry> entries) {
    this.file = file;
    this.zip = zip;
    this.entries = entries;
  }

  /**
   * Opens {@code file} and reads its central directory.
   *
   * @throws DataException naming the file if it is not a readable zip or two entries map to one key
   */
  public static NpzArchive open(final Path file) {
    final ZipFile zip;
    try {
      zip = new ZipFile(file.toFile());
    } catch (final IOException | IllegalArgumentException e) {
      // IllegalArgumentException: ZipFile reports entry names that are not valid UTF-8 so.
      throw new DataException(file + ": cannot read .npz archive (not a valid zip file): " + e, e);
    }
    try {
      final Map<String, ZipEntry> entries = new LinkedHashMap<>();
      final Enumeration<? extends ZipEntry> all = zip.entries();
      while (all.hasMoreElements()) {
        final ZipEntry entry = all.nextElement();
        if (entry.isDirectory()) {
          continue;
        }
        final String name = entry.getName();
        final String key =
            name.endsWith(SUFFIX) ? name.substring(0, name.length() - SUFFIX.length()) : name;
        if (entries.putIfAbsent(key, entry) != null) {
          throw new DataException(
              file + "!" + name + ": duplicate key '" + key + "' in .npz archive");
        }
      }
      return new NpzArchive(file, zip, entries);
    } catch (final RuntimeException e) {
      closeQuietly(zip, e);
      throw e instanceof DataException d
          ? d
          : new DataException(file + ": cannot read .npz archive: " + e, e);
    }
  }

  /** The archive file. */
  public Path file() {
    return file;
  }

  /** The keys (entry names without {@code .npy}) in archive order. */
  public List<String> keys() {
    return new ArrayList<>(entries.keySet());
  }

  /** Whether the archive has an entry for {@code key}. */
  public boolean contains(final String key) {
    return entries.containsKey(key);
  }

  /** {@code file!entry}, how messages name an entry. */
  public String source(final String key) {
    return file + "!" + entry(key).getName();
  }

  /**
   * Reads only the header of {@code key}'s entry (at most {@link Npy#MAX_HEADER_BYTES} inflated).
   *
   * @throws DataException naming the file and entry if the header is malformed
   * @throws IllegalArgumentException if there is no such key
   */
  public NpyHeader header(final String key) {
    final ZipEntry entry = entry(key);
    final String source = source(key);
    try (InputStream in = new BufferedInputStream(zip.getInputStream(entry), 8192)) {
      return Npy.readHeader(in, source);
    } catch (final IOException e) {
      throw wrap(source, e);
    }
  }

  /**
   * Reads {@code key}'s array, refusing before the data is read if the entry's declared size does
   * not match its header or the data does not fit the heap, and after it if the entry inflates to
   * more bytes than its header implies.
   *
   * @throws DataException naming the file and entry and what is wrong
   * @throws IllegalArgumentException if there is no such key
   */
  public NpyArray read(final String key) {
    final ZipEntry entry = entry(key);
    final String source = source(key);
    try (InputStream in = new BufferedInputStream(zip.getInputStream(entry), 8192)) {
      final NpyHeader h = Npy.readHeader(in, source);
      final long implied = h.dataOffset() + h.dataBytes();
      final long declared = entry.getSize();
      if (declared >= 0 && declared != implied) {
        throw new DataException(
            source
                + ": the zip directory declares "
                + declared
                + " uncompressed bytes, but the .npy header ("
                + h
                + ") implies "
                + implied
                + "; the archive is damaged (re-create it with np.savez)");
      }
      final NpyArray array = Npy.readData(in, h, source);
      if (in.read() != -1) {
        throw new DataException(
            source
                + ": the entry inflates to more than the "
                + implied
                + " bytes its .npy header ("
                + h
                + ") implies; the archive is damaged or hostile (re-create it with np.savez)");
      }
      return array;
    } catch (final IOException e) {
      throw wrap(source, e);
    }
  }

  private ZipEntry entry(final String key) {
    final ZipEntry entry = entries.get(key);
    if (entry == null) {
      throw new IllegalArgumentException(file + " has no key '" + key + "'");
    }
    return entry;
  }

  /** A DataException for a failed entry read (bad local header, invalid compressed data). */
  private static DataException wrap(final String source, final IOException e) {
    return new DataException(source + ": cannot read .npz entry (damaged archive): " + e, e);
  }

  private static void closeQuietly(final ZipFile zip, final Exception failure) {
    try {
      zip.close();
    } catch (final IOException e) {
      failure.addSuppressed(e);
    }
  }

  @Override
  public void close() {
    try {
      zip.close();
    } catch (final IOException e) {
      throw new DataException(file + ": cannot close .npz archive: " + e, e);
    }
  }
}
