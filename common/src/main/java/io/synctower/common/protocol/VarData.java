package io.synctower.common.protocol;

import io.synctower.common.protocol.sbe.GroupSizeEncodingDecoder;
import io.synctower.common.protocol.sbe.VarStringEncodingDecoder;
import java.nio.ByteOrder;
import java.util.Objects;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

/**
 * What follows a message's fixed block in a frame: var-data strings (a uint32 length, then UTF-8)
 * and repeating groups, in the schema's {@code varStringEncoding} and {@code groupSizeEncoding}.
 * Sizing and writing are static and allocate nothing; reading goes through a {@link Reader}, the
 * cursor of one decode.
 */
final class VarData {
  /** Byte order of every field of the schema. */
  static final ByteOrder ORDER = ByteOrder.LITTLE_ENDIAN;

  /** Bytes of a string's length prefix. */
  static final int TEXT_HEADER = VarStringEncodingDecoder.lengthEncodingLength();

  /** Bytes of a repeating group's header (entry length, count). */
  static final int GROUP_HEADER = GroupSizeEncodingDecoder.ENCODED_LENGTH;

  static {
    if (VarStringEncodingDecoder.lengthMaxValue() != ControlCodec.MAX_TEXT_BYTES) {
      throw new IllegalStateException("synctower.xml changed the text limit: update ControlCodec");
    }
  }

  private VarData() {}

  /**
   * The bytes {@link #putText} writes for {@code s}: length prefix and UTF-8.
   *
   * @throws NullPointerException if {@code s} is null, naming {@code field}
   * @throws IllegalArgumentException if {@code s} has an unpaired surrogate or more than {@value
   *     ControlCodec#MAX_TEXT_BYTES} bytes of UTF-8
   */
  static int textLength(final String s, final String field) {
    Objects.requireNonNull(s, field);
    final int bytes = Utf8.length(s, field);
    if (bytes > ControlCodec.MAX_TEXT_BYTES) {
      throw new IllegalArgumentException(
          field
              + " is "
              + bytes
              + " bytes of UTF-8; the schema allows "
              + ControlCodec.MAX_TEXT_BYTES);
    }
    return TEXT_HEADER + bytes;
  }

  /**
   * Writes a string (uint32 length, UTF-8) at {@code limit}; {@code s} must have passed {@link
   * #textLength}. Returns the new limit.
   */
  static int putText(final MutableDirectBuffer buffer, final int limit, final String s) {
    final int bytes = Utf8.put(buffer, limit + TEXT_HEADER, s);
    buffer.putInt(limit, bytes, ORDER);
    return limit + TEXT_HEADER + bytes;
  }

  /**
   * The var-data cursor of one decode: position, end of the message (before the tag), and why the
   * last read failed. Reads text strictly ({@link Utf8.Reader}). One per codec, rewrapped for every
   * frame; not thread-safe.
   */
  static final class Reader {
    private final Utf8.Reader utf8 = new Utf8.Reader();
    private final GroupSizeEncodingDecoder group = new GroupSizeEncodingDecoder();
    private DirectBuffer buffer;

    /** Where the next var-data field starts; codecs advance it past what they read. */
    int pos;

    /** The end of the message: the tag's first byte, or the frame's end. */
    int end;

    /** Why the last {@link #text} returned null, naming the field. */
    String failure;

    void wrap(final DirectBuffer buffer, final int pos, final int end) {
      this.buffer = buffer;
      this.pos = pos;
      this.end = end;
      this.failure = null;
    }

    int remaining() {
      return end - pos;
    }

    boolean has(final int n) {
      return n <= end - pos;
    }

    /** The string at {@link #pos}, advancing past it; null with {@link #failure} set if invalid. */
    String text(final String field) {
      if (!has(TEXT_HEADER)) {
        failure = field + ": the frame ends inside its length";
        return null;
      }
      final long length = buffer.getInt(pos, ORDER) & 0xFFFF_FFFFL;
      if (length > ControlCodec.MAX_TEXT_BYTES) {
        failure =
            field
                + " claims "
                + length
                + " bytes; the schema allows "
                + ControlCodec.MAX_TEXT_BYTES;
        return null;
      }
      if (length > end - pos - TEXT_HEADER) {
        failure =
            field + " claims " + length + " bytes; " + (end - pos - TEXT_HEADER) + " are left";
        return null;
      }
      final int n = (int) length;
      final String s = utf8.get(buffer, pos + TEXT_HEADER, n);
      if (s == null) {
        failure = field + " is not valid UTF-8";
        return null;
      }
      pos += TEXT_HEADER + n;
      return s;
    }

    /**
     * Reads the header of group {@code group} of message {@code message} at {@link #pos} and
     * advances past it. Returns the entry count (unchecked against the bytes left: each caller
     * knows what an entry holds), or -1 with {@link #failure} set when the header is cut or its
     * entries are not the schema's {@code entryLength} bytes.
     */
    int groupCount(final String message, final String group, final int entryLength) {
      if (!has(GROUP_HEADER)) {
        failure = message + " ends inside the " + group + " group header";
        return -1;
      }
      this.group.wrap(buffer, pos);
      if (this.group.blockLength() != entryLength) {
        failure =
            message
                + " "
                + group
                + " entries of "
                + this.group.blockLength()
                + " bytes, the schema's are "
                + entryLength;
        return -1;
      }
      pos += GROUP_HEADER;
      return this.group.numInGroup();
    }
  }
}
