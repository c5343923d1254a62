package io.synctower.common.protocol;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

/**
 * The protocol's one home for UTF-8, both ways and strict both ways. Writing goes straight into a
 * buffer, without the {@code byte[]} that {@link String#getBytes(java.nio.charset.Charset)}
 * allocates per string, and a string with an unpaired surrogate is refused instead of being written
 * as {@code '?'}; reading ({@link Reader}) refuses malformed bytes instead of replacing them with
 * U+FFFD. So what is decoded is what was encoded.
 */
final class Utf8 {
  private Utf8() {}

  /**
   * The number of bytes {@link #put} writes for {@code s}.
   *
   * @throws IllegalArgumentException if {@code s} has an unpaired surrogate; the message names
   *     {@code field} and the index
   */
  static int length(final String s, final String field) {
    final int n = s.length();
    int bytes = 0;
    for (int i = 0; i < n; i++) {
      final char c = s.charAt(i);
      if (c < 0x80) {
        bytes += 1;
      } else if (c < 0x800) {
        bytes += 2;
      } else if (Character.isHighSurrogate(c)
          && i + 1 < n
          && Character.isLowSurrogate(s.charAt(i + 1))) {
        bytes += 4;
        i++;
      } else if (Character.isSurrogate(c)) {
        throw new IllegalArgumentException(
            field + " has an unpaired surrogate at index " + i + ": not encodable as UTF-8");
      } else {
        bytes += 3;
      }
    }
    return bytes;
  }

  /**
   * Writes {@code s} as UTF-8 at {@code index}; {@code s} must have passed {@link #length}.
   *
   * @return the number of bytes written
   */
  static int put(final MutableDirectBuffer buffer, final int index, final String s) {
    final int n = s.length();
    int p = index;
    for (int i = 0; i < n; i++) {
      final char c = s.charAt(i);
      if (c < 0x80) {
        buffer.putByte(p++, (byte) c);
      } else if (c < 0x800) {
        buffer.putByte(p++, (byte) (0xC0 | (c >>> 6)));
        buffer.putByte(p++, (byte) (0x80 | (c & 0x3F)));
      } else if (Character.isHighSurrogate(c)) {
        final int cp = Character.toCodePoint(c, s.charAt(++i));
        buffer.putByte(p++, (byte) (0xF0 | (cp >>> 18)));
        buffer.putByte(p++, (byte) (0x80 | ((cp >>> 12) & 0x3F)));
        buffer.putByte(p++, (byte) (0x80 | ((cp >>> 6) & 0x3F)));
        buffer.putByte(p++, (byte) (0x80 | (cp & 0x3F)));
      } else {
        buffer.putByte(p++, (byte) (0xE0 | (c >>> 12)));
        buffer.putByte(p++, (byte) (0x80 | ((c >>> 6) & 0x3F)));
        buffer.putByte(p++, (byte) (0x80 | (c & 0x3F)));
      }
    }
    return p - index;
  }

  /**
   * Reads UTF-8 strictly: malformed or truncated sequences are a failure, never a replacement
   * character. Not thread-safe: one per decoding thread; its scratch arrays grow to the longest
   * text read and stay, so a read allocates only the returned string.
   */
  static final class Reader {
    private final CharsetDecoder utf8 =
        StandardCharsets.UTF_8
            .newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT);
    private byte[] bytes = new byte[256];
    private ByteBuffer in = ByteBuffer.wrap(bytes);
    private CharBuffer out = CharBuffer.allocate(bytes.length);

    /**
     * The {@code n} bytes at {@code index} of {@code buffer} as a string (copied), or null if they
     * are not valid UTF-8. The caller has checked that they lie inside the buffer.
     */
    String get(final DirectBuffer buffer, final int index, final int n) {
      if (n == 0) {
        return "";
      }
      if (n > bytes.length) {
        bytes = new byte[Math.max(n, 2 * bytes.length)];
        in = ByteBuffer.wrap(bytes);
        out = CharBuffer.allocate(bytes.length);
      }
      buffer.getBytes(index, bytes, 0, n);
      in.clear().limit(n);
      out.clear();
      utf8.reset();
      // UTF-8 never has more chars than bytes, so OVERFLOW cannot happen: only errors stop early.
      if (!utf8.decode(in, out, true).isUnderflow() || !utf8.flush(out).isUnderflow()) {
        return null;
      }
      return out.flip().toString();
    }
  }
}
