package io.synctower.coordinator.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads TensorBoard event files independently of {@link TensorBoardEvents}: TFRecord framing with
 * both checksums verified by a bitwise CRC-32C, and the Event/Summary protocol buffers decoded
 * field by field.
 */
public final class TensorBoardFiles {
  private TensorBoardFiles() {}

  /** One decoded event: its wall time, step, file version (or null) and scalars by tag. */
  public record Event(double wallTime, long step, String fileVersion, Map<String, Float> scalars) {}

  /** Every event of {@code file}, in order; an AssertionError names a checksum that fails. */
  public static List<Event> read(final Path file) throws IOException {
    final ByteBuffer in = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
    final List<Event> events = new ArrayList<>();
    while (in.hasRemaining()) {
      final byte[] lengthBytes = new byte[8];
      in.get(lengthBytes);
      final long length = ByteBuffer.wrap(lengthBytes).order(ByteOrder.LITTLE_ENDIAN).getLong();
      assertEquals(mask(crc32c(lengthBytes)), in.getInt(), "length checksum");
      final byte[] data = new byte[(int) length];
      in.get(data);
      assertEquals(mask(crc32c(data)), in.getInt(), "data checksum");
      events.add(decodeEvent(data));
    }
    return events;
  }

  private static Event decodeEvent(final byte[] data) {
    final ByteBuffer in = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
    double wallTime = Double.NaN;
    long step = 0;
    String version = null;
    final Map<String, Float> scalars = new LinkedHashMap<>();
    while (in.hasRemaining()) {
      final long key = varint(in);
      switch ((int) key) {
        case (1 << 3) | 1 -> wallTime = in.getDouble();
        case (2 << 3) -> step = varint(in);
        case (3 << 3) | 2 -> version = new String(lengthDelimited(in), StandardCharsets.UTF_8);
        case (5 << 3) | 2 -> decodeSummary(lengthDelimited(in), scalars);
        default -> throw new AssertionError("unexpected Event field key " + key);
      }
    }
    return new Event(wallTime, step, version, scalars);
  }

  private static void decodeSummary(final byte[] data, final Map<String, Float> scalars) {
    final ByteBuffer in = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
    while (in.hasRemaining()) {
      assertEquals((1 << 3) | 2, varint(in), "Summary.value");
      final ByteBuffer value = ByteBuffer.wrap(lengthDelimited(in)).order(ByteOrder.LITTLE_ENDIAN);
      String tag = null;
      Float simple = null;
      while (value.hasRemaining()) {
        final long key = varint(value);
        if (key == ((1 << 3) | 2)) {
          tag = new String(lengthDelimited(value), StandardCharsets.UTF_8);
        } else if (key == ((2 << 3) | 5)) {
          simple = value.getFloat();
        } else {
          throw new AssertionError("unexpected Summary.Value field key " + key);
        }
      }
      scalars.put(tag, simple);
    }
  }

  private static byte[] lengthDelimited(final ByteBuffer in) {
    final byte[] out = new byte[(int) varint(in)];
    in.get(out);
    return out;
  }

  private static long varint(final ByteBuffer in) {
    long result = 0;
    for (int shift = 0; ; shift += 7) {
      final byte b = in.get();
      result |= (long) (b & 0x7F) << shift;
      if ((b & 0x80) == 0) {
        return result;
      }
    }
  }

  /** CRC-32C bit by bit (reflected polynomial 0x82F63B78), independent of java.util.zip. */
  static int crc32c(final byte[] bytes) {
    int crc = 0xFFFFFFFF;
    for (final byte b : bytes) {
      crc ^= b & 0xFF;
      for (int i = 0; i < 8; i++) {
        crc = (crc & 1) != 0 ? (crc >>> 1) ^ 0x82F63B78 : crc >>> 1;
      }
    }
    return ~crc;
  }

  static int mask(final int crc) {
    return ((crc >>> 15) | (crc << 17)) + 0xa282ead8;
  }
}
