package io.synctower.common.data;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Reads and writes NumPy {@code .npy} files (format versions 1.0, 2.0 and 3.0, as specified in
 * NumPy's {@code numpy/lib/format.py} documentation, NEP 1): the magic {@code \x93NUMPY}, a
 * version, a little-endian header length (2 bytes in 1.0, 4 bytes in 2.0/3.0), a Python-literal
 * dict {@code {'descr': ..., 'fortran_order': ..., 'shape': (...), }} padded with spaces and ended
 * by {@code '\n'}, then the raw element bytes.
 *
 * <p>Supported: the dtypes of {@link NpyDtype}, C order, little-endian. Fortran order, big-endian
 * multi-byte types and structured or object dtypes are rejected with a message naming the source.
 * The writer emits version 1.0 (2.0 if the header would not fit) with the total header padded to a
 * multiple of 64 bytes, as NumPy does.
 *
 * <p>Memory: {@code read} allocates one {@code byte[]} for the data, owned by the returned {@link
 * NpyArray}; {@code write} copies nothing beyond the header. Stateless and thread-safe.
 */
public final class Npy {
  /** The six magic bytes every {@code .npy} file starts with. */
  static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};

  private static final int ALIGN = 64;

  /**
   * The longest header read. NumPy writes headers of a few hundred bytes (and since 1.24 refuses to
   * read more than 10000 by default); the cap keeps a corrupt length field from reading or
   * inflating gigabytes.
   */
  public static final int MAX_HEADER_BYTES = 1 << 16;

  /** The most dimensions a shape may have (NumPy 2 allows 64). */
  static final int MAX_RANK = 64;

  /** The deepest nesting of brackets in a header (NumPy writes two: the dict and the shape). */
  static final int MAX_NESTING = 8;

  private Npy() {}

  /**
   * Reads a whole {@code .npy} file. The size the header declares is checked against the file's
   * length and the free heap before the data is allocated.
   *
   * @throws DataException naming the file and what is wrong (magic, header, dtype, order, length)
   */
  public static NpyArray read(final Path file) {
    try (InputStream in = new BufferedInputStream(Files.newInputStream(file))) {
      final String source = file.toString();
      final NpyHeader h = readHeader(in, source);
      final long length = Files.size(file);
      if (length - h.dataOffset() < h.dataBytes()) {
        throw truncated(source, h, length - h.dataOffset());
      }
      return readData(in, h, source);
    } catch (final IOException e) {
      throw new DataException(file + ": cannot read .npy file: " + e, e);
    }
  }

  /**
   * Reads one {@code .npy} image from {@code in}, which is left positioned after the data (not
   * closed). {@code source} names the stream in error messages, e.g. {@code "data.npz!x.npy"}.
   *
   * @throws DataException naming the source and what is wrong
   * @throws IOException if the stream fails
   */
  public static NpyArray read(final InputStream in, final String source) throws IOException {
    return readData(in, readHeader(in, source), source);
  }

  /**
   * Reads the header of one {@code .npy} image from {@code in}, leaving it positioned at the data.
   * Reads at most {@value #MAX_HEADER_BYTES} header bytes; the declared data size is known to fit
   * in a long (overflow is an error, not a wrap-around).
   *
   * @throws DataException naming the source and what is wrong
   * @throws IOException if the stream fails
   */
  public static NpyHeader readHeader(final InputStream in, final String source) throws IOException {
    Objects.requireNonNull(source, "source");
    final byte[] prefix = in.readNBytes(MAGIC.length + 2);
    if (prefix.length < MAGIC.length
        || !Arrays.equals(Arrays.copyOf(prefix, MAGIC.length), MAGIC)) {
      throw new DataException(
          source
              + ": not a .npy file: expected magic 93 4e 55 4d 50 59 (\\x93NUMPY) at offset 0, found "
              + hex(prefix, MAGIC.length));
    }
    if (prefix.length < MAGIC.length + 2) {
      throw new DataException(
          source
              + ": truncated header: expected 2 version bytes at offset 6, found "
              + (prefix.length - MAGIC.length));
    }
    final int major = prefix[6] & 0xFF;
    final int minor = prefix[7] & 0xFF;
    final int lengthBytes;
    if (major == 1) {
      lengthBytes = 2;
    } else if (major == 2 || major == 3) {
      lengthBytes = 4;
    } else {
      throw new DataException(
          source
              + ": unsupported .npy version "
              + major
              + "."
              + minor
              + ", expected 1.0, 2.0 or 3.0");
    }
    final byte[] lengthField = in.readNBytes(lengthBytes);
    if (lengthField.length < lengthBytes) {
      throw new DataException(
          source
              + ": truncated header: expected a "
              + lengthBytes
              + "-byte header length at offset 8, found "
              + lengthField.length
              + " bytes");
    }
    long headerLength = 0;
    for (int i = lengthBytes - 1; i >= 0; i--) {
      headerLength = (headerLength << 8) | (lengthField[i] & 0xFF);
    }
    if (headerLength > MAX_HEADER_BYTES) {
      throw new DataException(
          source
              + ": header length "
              + headerLength
              + " is implausible: NumPy headers describe dtype, order and shape in well under "
              + MAX_HEADER_BYTES
              + " bytes; the file is damaged or not a .npy file");
    }
    final int headerStart = 8 + lengthBytes;
    final byte[] headerBytes = in.readNBytes((int) headerLength);
    if (headerBytes.length < headerLength) {
      throw new DataException(
          source
              + ": truncated header: expected "
              + headerLength
              + " header bytes at offset "
              + headerStart
              + ", found "
              + headerBytes.length);
    }
    final String header =
        new String(headerBytes, major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
    final NpyHeader h = parseHeader(header, source, headerStart + headerLength);
    if (h.dataBytes() < 0) {
      throw new DataException(
          source
              + ": shape "
              + Arrays.toString(h.shape())
              + " of "
              + h.dtype().descr()
              + " declares more than 2^63 bytes of data; the header is damaged");
    }
    return h;
  }

  /**
   * Reads the data {@code h} declares from {@code in} (positioned after the header), checking the
   * size against the per-array limit and the free heap first. Never reads past the data.
   *
   * @throws DataException naming the source if the data is too large or truncated
   * @throws IOException if the stream fails
   */
  public static NpyArray readData(final InputStream in, final NpyHeader h, final String source)
      throws IOException {
    final long expected = h.dataBytes();
    if (expected < 0 || expected > Integer.MAX_VALUE - 8) {
      throw new DataException(
          source
              + ": shape "
              + Arrays.toString(h.shape())
              + " of "
              + h.dtype().descr()
              + " needs "
              + (expected < 0 ? "more than 2^63" : String.valueOf(expected))
              + " bytes; at most 2^31-9 bytes per array are supported");
    }
    HeapBudget.require(expected, source, "array " + h);
    // readNBytes grows its buffers as bytes arrive, so a header that overstates a short stream
    // costs only what the stream holds.
    final byte[] data = in.readNBytes((int) expected);
    if (data.length < expected) {
      throw truncated(source, h, data.length);
    }
    return new NpyArray(h.dtype(), h.shape(), data);
  }

  private static DataException truncated(final String source, final NpyHeader h, final long found) {
    return new DataException(
        source
            + ": truncated data: shape "
            + Arrays.toString(h.shape())
            + " of "
            + h.dtype().descr()
            + " needs "
            + h.dataBytes()
            + " bytes after the "
            + h.dataOffset()
            + "-byte header, found "
            + Math.max(0, found));
  }

  /**
   * Writes {@code array} to {@code file}, replacing it.
   *
   * @throws DataException naming the file if it cannot be written
   */
  public static void write(final Path file, final NpyArray array) {
    try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(file))) {
      write(out, array);
    } catch (final IOException e) {
      throw new DataException(file + ": cannot write .npy file: " + e, e);
    }
  }

  /** Writes {@code array} as one {@code .npy} image to {@code out} (not closed). */
  public static void write(final OutputStream out, final NpyArray array) throws IOException {
    out.write(header(array));
    final ByteBuffer data = array.data();
    final byte[] chunk = new byte[Math.min(data.remaining(), 1 << 16)];
    while (data.hasRemaining()) {
      final int n = Math.min(chunk.length, data.remaining());
      data.get(chunk, 0, n);
      out.write(chunk, 0, n);
    }
  }

  /** The complete header (magic through {@code '\n'}) NumPy would write for this array. */
  static byte[] header(final NpyArray array) {
    return header(array.dtype(), array.shape());
  }

  /**
   * The complete header NumPy would write for an array of {@code dtype} and {@code shape}; the
   * little-endian elements follow it directly (for writers that stream elements from elsewhere).
   */
  public static byte[] header(final NpyDtype dtype, final long[] shape) {
    final StringBuilder dict = new StringBuilder();
    dict.append("{'descr': '")
        .append(dtype.descr())
        .append("', 'fortran_order': False, 'shape': (");
    for (int i = 0; i < shape.length; i++) {
      if (i > 0) {
        dict.append(", ");
      }
      dict.append(shape[i]);
    }
    if (shape.length == 1) {
      dict.append(',');
    }
    dict.append("), }");
    int prefix = MAGIC.length + 2 + 2;
    int major = 1;
    int total = roundUp(prefix + dict.length() + 1);
    if (total - prefix > 0xFFFF) {
      prefix = MAGIC.length + 2 + 4;
      major = 2;
      total = roundUp(prefix + dict.length() + 1);
    }
    while (prefix + dict.length() + 1 < total) {
      dict.append(' ');
    }
    dict.append('\n');
    final byte[] out = new byte[total];
    System.arraycopy(MAGIC, 0, out, 0, MAGIC.length);
    out[6] = (byte) major;
    out[7] = 0;
    final int headerLength = total - prefix;
    for (int i = 0; i < prefix - 8; i++) {
      out[8 + i] = (byte) (headerLength >>> (8 * i));
    }
    final byte[] text = dict.toString().getBytes(StandardCharsets.ISO_8859_1);
    System.arraycopy(text, 0, out, prefix, text.length);
    return out;
  }

  private static int roundUp(final int n) {
    return (n + ALIGN - 1) / ALIGN * ALIGN;
  }

  private static NpyHeader parseHeader(
      final String header, final String source, final long dataOffset) {
    final Object parsed = new LiteralParser(header, source).parseTop();
    if (!(parsed instanceof Map<?, ?> dict)) {
      throw new DataException(source + ": .npy header is not a dict: " + excerpt(header));
    }
    final Map<?, ?> map = dict;
    for (final String key : List.of("descr", "fortran_order", "shape")) {
      if (!map.containsKey(key)) {
        throw new DataException(
            source + ": .npy header has no '" + key + "' key: " + excerpt(header));
      }
    }
    final Object descr = map.get("descr");
    if (!(descr instanceof String d)) {
      throw new DataException(
          source
              + ": unsupported dtype "
              + descr
              + " (structured); expected one of "
              + supportedDescrs());
    }
    final NpyDtype dtype = NpyDtype.fromDescr(d);
    if (dtype == null) {
      if (d.startsWith(">") && NpyDtype.fromDescr("<" + d.substring(1)) != null) {
        throw new DataException(
            source
                + ": big-endian dtype '"
                + d
                + "' is not supported, expected little-endian '<"
                + d.substring(1)
                + "' (in NumPy: a.astype(a.dtype.newbyteorder('<')))");
      }
      throw new DataException(
          source + ": unsupported dtype '" + d + "', expected one of " + supportedDescrs());
    }
    final Object fortran = map.get("fortran_order");
    if (!(fortran instanceof Boolean f)) {
      throw new DataException(
          source + ": 'fortran_order' is " + fortran + ", expected True or False");
    }
    if (f) {
      throw new DataException(
          source
              + ": fortran_order is True; only C-order arrays are supported"
              + " (in NumPy: np.ascontiguousarray(a) before saving)");
    }
    final Object shapeValue = map.get("shape");
    if (!(shapeValue instanceof List<?> dims)) {
      throw new DataException(
          source + ": 'shape' is " + shapeValue + ", expected a tuple of integers");
    }
    if (dims.size() > MAX_RANK) {
      throw new DataException(
          source
              + ": shape has "
              + dims.size()
              + " dimensions, at most "
              + MAX_RANK
              + " are supported");
    }
    final long[] shape = new long[dims.size()];
    for (int i = 0; i < shape.length; i++) {
      if (!(dims.get(i) instanceof Long v) || v < 0) {
        throw new DataException(
            source
                + ": shape entry "
                + i
                + " is "
                + dims.get(i)
                + ", expected a non-negative integer");
      }
      shape[i] = v;
    }
    return new NpyHeader(dtype, shape, dataOffset);
  }

  private static String supportedDescrs() {
    final List<String> names = new ArrayList<>();
    for (final NpyDtype t : NpyDtype.values()) {
      names.add("'" + t.descr() + "'");
    }
    return String.join(", ", names);
  }

  /** The header for a message: stripped and cut to 200 characters (a damaged one may be 64 KiB). */
  private static String excerpt(final String header) {
    final String s = header.strip();
    return s.length() <= 200 ? s : s.substring(0, 200) + "... (" + s.length() + " characters)";
  }

  private static String hex(final byte[] bytes, final int max) {
    if (bytes.length == 0) {
      return "end of file";
    }
    final StringBuilder sb = new StringBuilder();
    for (int i = 0; i < Math.min(bytes.length, max); i++) {
      if (i > 0) {
        sb.append(' ');
      }
      sb.append(String.format("%02x", bytes[i] & 0xFF));
    }
    return sb.toString();
  }

  /**
   * Parses the subset of Python literals NumPy writes in headers: dicts, tuples, lists, quoted
   * strings, integers (with an optional Python 2 {@code L} suffix), True, False and None. Dicts
   * become {@link Map}, tuples and lists {@link List}, integers {@link Long}.
   */
  private static final class LiteralParser {
    private final String text;
    private final String source;
    private int pos;
    private int depth;

    LiteralParser(final String text, final String source) {
      this.text = text;
      this.source = source;
    }

    Object parseTop() {
      final Object value = parseValue();
      skipSpace();
      if (pos != text.length()) {
        throw error("end of header");
      }
      return value;
    }

    private Object parseValue() {
      skipSpace();
      if (pos >= text.length()) {
        throw error("a value");
      }
      final char c = text.charAt(pos);
      if (c == '{' || c == '(' || c == '[') {
        // Recursion depth is bounded, so a header of nested brackets is an error, not a
        // StackOverflowError.
        if (depth == MAX_NESTING) {
          throw new DataException(
              source
                  + ": malformed .npy header at character "
                  + pos
                  + ": brackets nested deeper than "
                  + MAX_NESTING
                  + " levels (NumPy writes two)");
        }
        depth++;
        try {
          return c == '{' ? parseDict() : parseSequence(c == '(' ? ')' : ']');
        } finally {
          depth--;
        }
      }
      if (c == '\'' || c == '"') {
        return parseString(c);
      }
      if (c == '-' || (c >= '0' && c <= '9')) {
        return parseInteger();
      }
      if (text.startsWith("True", pos)) {
        pos += 4;
        return Boolean.TRUE;
      }
      if (text.startsWith("False", pos)) {
        pos += 5;
        return Boolean.FALSE;
      }
      if (text.startsWith("None", pos)) {
        pos += 4;
        return "None";
      }
      throw error("a dict, tuple, list, string, integer, True, False or None");
    }

    private Map<String, Object> parseDict() {
      expect('{');
      final Map<String, Object> map = new HashMap<>();
      while (true) {
        skipSpace();
        if (peek('}')) {
          pos++;
          return map;
        }
        final Object key = parseValue();
        if (!(key instanceof String k)) {
          throw error("a string key");
        }
        if (map.containsKey(k)) {
          throw new DataException(
              source + ": .npy header repeats key '" + k + "': " + excerpt(text));
        }
        skipSpace();
        expect(':');
        map.put(k, parseValue());
        skipSpace();
        if (peek(',')) {
          pos++;
        } else if (!peek('}')) {
          throw error("',' or '}'");
        }
      }
    }

    private List<Object> parseSequence(final char close) {
      pos++;
      final List<Object> items = new ArrayList<>();
      while (true) {
        skipSpace();
        if (peek(close)) {
          pos++;
          return items;
        }
        items.add(parseValue());
        skipSpace();
        if (peek(',')) {
          pos++;
        } else if (!peek(close)) {
          throw error("',' or '" + close + "'");
        }
      }
    }

    private String parseString(final char quote) {
      pos++;
      final int start = pos;
      while (pos < text.length() && text.charAt(pos) != quote) {
        pos++;
      }
      if (pos >= text.length()) {
        throw error("closing " + quote);
      }
      return text.substring(start, pos++);
    }

    private Long parseInteger() {
      final int start = pos;
      if (peek('-')) {
        pos++;
      }
      while (pos < text.length() && Character.isDigit(text.charAt(pos))) {
        pos++;
      }
      final String digits = text.substring(start, pos);
      if (peek('L')) {
        pos++;
      }
      try {
        return Long.parseLong(digits);
      } catch (final NumberFormatException e) {
        pos = start;
        throw error("an integer");
      }
    }

    private boolean peek(final char c) {
      return pos < text.length() && text.charAt(pos) == c;
    }

    private void expect(final char c) {
      if (!peek(c)) {
        throw error("'" + c + "'");
      }
      pos++;
    }

    private void skipSpace() {
      while (pos < text.length() && Character.isWhitespace(text.charAt(pos))) {
        pos++;
      }
    }

    private DataException error(final String expected) {
      final String found = pos < text.length() ? "'" + text.charAt(pos) + "'" : "end of header";
      return new DataException(
          source
              + ": malformed .npy header at character "
              + pos
              + ": expected "
              + expected
              + ", found "
              + found
              + " in "
              + excerpt(text));
    }
  }
}
