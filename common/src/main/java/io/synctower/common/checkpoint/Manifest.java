package io.synctower.common.checkpoint;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.CRC32C;

/**
 * The {@code manifest} file of a checkpoint directory, written last: UTF-8 text, one record a line,
 * closed by the CRC32C of every byte before the closing line, so a torn or damaged manifest is
 * detected instead of trusted.
 *
 * <pre>
 * synctower-checkpoint-manifest 1
 * step 120
 * created 2025-06-01T12:00:00.123456Z
 * file state.json 412 1a2b3c4d
 * file params.bin 4194304 99887766
 * crc32c 0badf00d
 * </pre>
 *
 * <p>{@code file} lines give name, size in bytes and CRC32C (eight lowercase hex digits). CRC32C
 * detects accidental damage (torn writes, bit flips, truncation); it is not a cryptographic hash
 * and does not protect against deliberate tampering.
 */
final class Manifest {
  static final String FILE_NAME = "manifest";
  static final int FORMAT_VERSION = 1;

  private static final String HEADER = "synctower-checkpoint-manifest ";
  private static final Pattern STEP = Pattern.compile("step (\\d{1,19})");
  private static final Pattern CREATED = Pattern.compile("created (\\S+)");
  private static final Pattern FILE = Pattern.compile("file (\\S+) (\\d{1,19}) ([0-9a-f]{8})");
  private static final Pattern CLOSING = Pattern.compile("crc32c ([0-9a-f]{8})");

  /** One file of the checkpoint; {@code crc32c} holds the unsigned 32-bit value. */
  record Entry(String name, long size, long crc32c) {}

  /** A manifest that does not parse or fails its own checksum; the message says how. */
  static final class InvalidManifestException extends Exception {
    InvalidManifestException(final String message) {
      super(message);
    }
  }

  private final long step;
  private final Instant created;
  private final List<Entry> entries;

  Manifest(final long step, final Instant created, final List<Entry> entries) {
    this.step = step;
    this.created = created;
    this.entries = List.copyOf(entries);
  }

  long step() {
    return step;
  }

  Instant created() {
    return created;
  }

  List<Entry> entries() {
    return entries;
  }

  static String hex(final long crc32c) {
    return String.format("%08x", crc32c);
  }

  /** The file's bytes, closing checksum line included; a new array. */
  byte[] encode() {
    final StringBuilder body = new StringBuilder();
    body.append(HEADER).append(FORMAT_VERSION).append('\n');
    body.append("step ").append(step).append('\n');
    body.append("created ").append(created).append('\n');
    for (final Entry e : entries) {
      body.append("file ")
          .append(e.name())
          .append(' ')
          .append(e.size())
          .append(' ')
          .append(hex(e.crc32c()))
          .append('\n');
    }
    final byte[] bodyBytes = body.toString().getBytes(StandardCharsets.UTF_8);
    final byte[] closing =
        ("crc32c " + hex(crc32c(bodyBytes, bodyBytes.length)) + "\n")
            .getBytes(StandardCharsets.UTF_8);
    final byte[] all = new byte[bodyBytes.length + closing.length];
    System.arraycopy(bodyBytes, 0, all, 0, bodyBytes.length);
    System.arraycopy(closing, 0, all, bodyBytes.length, closing.length);
    return all;
  }

  /** Parses and checks a manifest's bytes; does not keep the array. */
  static Manifest decode(final byte[] bytes) throws InvalidManifestException {
    if (bytes.length == 0 || bytes[bytes.length - 1] != '\n') {
      throw new InvalidManifestException(
          "torn manifest: "
              + bytes.length
              + " bytes that do not end with a newline (the closing crc32c line is missing)");
    }
    int closingStart = bytes.length - 1;
    while (closingStart > 0 && bytes[closingStart - 1] != '\n') {
      closingStart--;
    }
    final String closingLine =
        new String(bytes, closingStart, bytes.length - 1 - closingStart, StandardCharsets.UTF_8);
    final Matcher closing = CLOSING.matcher(closingLine);
    if (!closing.matches()) {
      throw new InvalidManifestException(
          "torn manifest: the last line should be 'crc32c <8 hex digits>', it is '"
              + abbreviate(closingLine)
              + "'");
    }
    final long expected = Long.parseLong(closing.group(1), 16);
    final long actual = crc32c(bytes, closingStart);
    if (expected != actual) {
      throw new InvalidManifestException(
          "manifest checksum mismatch: its last line says crc32c "
              + hex(expected)
              + ", the lines before it have "
              + hex(actual));
    }

    final String[] lines =
        new String(bytes, 0, closingStart, StandardCharsets.UTF_8).split("\n", -1);
    // The body ends with a newline, so split leaves one empty string after the last line.
    final int count = lines.length - 1;
    if (count < 3 || !lines[0].startsWith(HEADER)) {
      throw new InvalidManifestException(
          "not a checkpoint manifest: it should start with '"
              + HEADER
              + FORMAT_VERSION
              + "', 'step N' and 'created TIME' lines");
    }
    final String version = lines[0].substring(HEADER.length());
    if (!version.equals(Integer.toString(FORMAT_VERSION))) {
      throw new InvalidManifestException(
          "manifest format version '"
              + abbreviate(version)
              + "' is not supported (this build reads version "
              + FORMAT_VERSION
              + "); load it with the SyncTower version that wrote it");
    }
    final Matcher stepLine = STEP.matcher(lines[1]);
    if (!stepLine.matches()) {
      throw new InvalidManifestException(
          "manifest line 2 should be 'step N', it is '" + abbreviate(lines[1]) + "'");
    }
    final long step = parseLong(stepLine.group(1), 2);
    final Matcher createdLine = CREATED.matcher(lines[2]);
    final Instant created = createdLine.matches() ? parseInstant(createdLine.group(1)) : null;
    if (created == null) {
      throw new InvalidManifestException(
          "manifest line 3 should be 'created <ISO-8601 instant>', it is '"
              + abbreviate(lines[2])
              + "'");
    }
    final List<Entry> entries = new ArrayList<>();
    final Set<String> names = new HashSet<>();
    for (int i = 3; i < count; i++) {
      final Matcher file = FILE.matcher(lines[i]);
      if (!file.matches()
          || !CheckpointFile.isValidName(file.group(1))
          || !names.add(file.group(1))) {
        throw new InvalidManifestException(
            "manifest line "
                + (i + 1)
                + " should be 'file <name> <size> <crc32c>' with a valid, new name, it is '"
                + abbreviate(lines[i])
                + "'");
      }
      entries.add(
          new Entry(
              file.group(1), parseLong(file.group(2), i + 1), Long.parseLong(file.group(3), 16)));
    }
    return new Manifest(step, created, entries);
  }

  /** CRC32C of {@code bytes[0, length)}. */
  private static long crc32c(final byte[] bytes, final int length) {
    final CRC32C crc = new CRC32C();
    crc.update(bytes, 0, length);
    return crc.getValue();
  }

  private static long parseLong(final String digits, final int line)
      throws InvalidManifestException {
    try {
      return Long.parseLong(digits);
    } catch (final NumberFormatException e) {
      throw new InvalidManifestException(
          "manifest line " + line + ": " + digits + " is out of range for a long");
    }
  }

  /** The instant, or null if {@code text} is not an ISO-8601 instant. */
  private static Instant parseInstant(final String text) {
    try {
      return Instant.parse(text);
    } catch (final DateTimeParseException e) {
      return null;
    }
  }

  private static String abbreviate(final String s) {
    return s.length() <= 80 ? s : s.substring(0, 77) + "...";
  }
}
