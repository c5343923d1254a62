package io.synctower.coordinator.train;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.zip.CRC32C;

/**
 * A TensorBoard event file of scalars ({@code tensorboard --logdir RUN_DIR/tensorboard} reads it):
 * the TFRecord framing (length, masked CRC-32C of the length, the record, its masked CRC-32C)
 * around {@code Event} protocol buffers carrying a {@code Summary} of {@code simple_value}s.
 *
 * <p>Hand-written rather than a dependency: the file needs five protobuf fields of two messages and
 * one checksum the JDK has ({@link CRC32C}); TensorBoard's Java writers come with TensorFlow's
 * native runtime or a full protobuf code generator. The layout follows TensorFlow's {@code
 * event.proto} ({@code Event{double wall_time = 1; int64 step = 2; string file_version = 3; Summary
 * summary = 5}}, {@code Summary{repeated Value value = 1}}, {@code Value{string tag = 1; float
 * simple_value = 2}}) and {@code record_writer} framing. {@code TensorBoardEventsTest} reads files
 * back field by field with their checksums.
 *
 * <p>Each {@link #scalars} call appends one record and flushes it, so a crash loses at most the
 * record being written (TensorBoard skips a torn last record). Not thread-safe.
 */
public final class TensorBoardEvents implements AutoCloseable {
  /** The first record of every event file: TensorBoard checks it to know the format. */
  static final String FILE_VERSION = "brain.Event:2";

  private static final int MASK_DELTA = 0xa282ead8;

  private final Path file;
  private final OutputStream out;

  private TensorBoardEvents(final Path file, final OutputStream out) {
    this.file = file;
    this.out = out;
  }

  /**
   * A new event file in {@code dir} (created if missing), named as TensorBoard expects ({@code
   * events.out.tfevents.<seconds>.<host>}), beginning with the file-version record. A resumed run
   * writes a new file beside the old ones; TensorBoard merges the files of one directory by step.
   */
  public static TensorBoardEvents create(final Path dir, final String host, final double wallTime)
      throws IOException {
    Files.createDirectories(dir);
    Path file = dir.resolve("events.out.tfevents." + (long) wallTime + "." + host);
    for (int n = 1; Files.exists(file); n++) {
      // Two writers within one second (a quick resume): never append to another run's file.
      file = dir.resolve("events.out.tfevents." + (long) wallTime + "." + host + "." + n);
    }
    final OutputStream out =
        new BufferedOutputStream(Files.newOutputStream(file, StandardOpenOption.CREATE_NEW));
    final TensorBoardEvents events = new TensorBoardEvents(file, out);
    final Proto event = new Proto();
    event.fixed64(1, Double.doubleToRawLongBits(wallTime));
    event.bytes(3, FILE_VERSION.getBytes(StandardCharsets.UTF_8));
    events.record(event.toByteArray());
    return events;
  }

  /** The file this writes. */
  public Path file() {
    return file;
  }

  /**
   * Appends one event at {@code step} holding the scalars {@code tags[i] = values[i]} (non-finite
   * values are written as they are: TensorBoard shows them as gaps).
   */
  public void scalars(
      final long step, final double wallTime, final String[] tags, final double[] values) {
    if (tags.length != values.length) {
      throw new IllegalArgumentException(tags.length + " tags but " + values.length + " values");
    }
    final Proto summary = new Proto();
    for (int i = 0; i < tags.length; i++) {
      final Proto value = new Proto();
      value.bytes(1, tags[i].getBytes(StandardCharsets.UTF_8));
      value.fixed32(2, Float.floatToRawIntBits((float) values[i]));
      summary.bytes(1, value.toByteArray());
    }
    final Proto event = new Proto();
    event.fixed64(1, Double.doubleToRawLongBits(wallTime));
    event.varint(2, step);
    event.bytes(5, summary.toByteArray());
    try {
      record(event.toByteArray());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write TensorBoard events to " + file, e);
    }
  }

  private void record(final byte[] data) throws IOException {
    final ByteBuffer header = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN);
    header.putLong(data.length);
    header.putInt(maskedCrc(header.array(), 0, 8));
    out.write(header.array());
    out.write(data);
    final ByteBuffer footer = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
    footer.putInt(maskedCrc(data, 0, data.length));
    out.write(footer.array());
    out.flush();
  }

  /** TFRecord's checksum: CRC-32C, rotated right by 15 bits, plus a constant. */
  static int maskedCrc(final byte[] bytes, final int offset, final int length) {
    final CRC32C crc = new CRC32C();
    crc.update(bytes, offset, length);
    final int c = (int) crc.getValue();
    return ((c >>> 15) | (c << 17)) + MASK_DELTA;
  }

  @Override
  public void close() throws IOException {
    out.close();
  }

  /** The protobuf wire encoding of the three field kinds the event file needs. */
  private static final class Proto {
    private final java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();

    void varint(final int field, final long value) {
      tag(field, 0);
      rawVarint(value);
    }

    void fixed64(final int field, final long value) {
      tag(field, 1);
      for (int i = 0; i < 8; i++) {
        bytes.write((int) (value >>> (8 * i)));
      }
    }

    void fixed32(final int field, final int value) {
      tag(field, 5);
      for (int i = 0; i < 4; i++) {
        bytes.write(value >>> (8 * i));
      }
    }

    void bytes(final int field, final byte[] value) {
      tag(field, 2);
      rawVarint(value.length);
      bytes.writeBytes(value);
    }

    byte[] toByteArray() {
      return bytes.toByteArray();
    }

    private void tag(final int field, final int wireType) {
      rawVarint(((long) field << 3) | wireType);
    }

    private void rawVarint(final long value) {
      long v = value;
      while ((v & ~0x7FL) != 0) {
        bytes.write((int) ((v & 0x7F) | 0x80));
        v >>>= 7;
      }
      bytes.write((int) v);
    }
  }
}
