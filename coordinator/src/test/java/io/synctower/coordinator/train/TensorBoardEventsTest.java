package io.synctower.coordinator.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Event files read back as TensorBoard reads them ({@link TensorBoardFiles}: both checksums, the
 * protocol buffers field by field), and the checksum against the standard's test vector.
 */
class TensorBoardEventsTest {
  /** One decoded event: its wall time, step, file version (or null) and scalars by tag. */
  private record Event(
      double wallTime, long step, String fileVersion, Map<String, Float> scalars) {}

  @Test
  void theChecksumIsCrc32cMaskedAsTfRecordSpecifies() {
    // CRC-32C("123456789") = 0xE3069283 (RFC 3720, the standard check value).
    assertEquals(
        0xE3069283, TensorBoardFiles.crc32c("123456789".getBytes(StandardCharsets.US_ASCII)));
    final byte[] data = "any record".getBytes(StandardCharsets.US_ASCII);
    assertEquals(
        TensorBoardFiles.mask(TensorBoardFiles.crc32c(data)),
        TensorBoardEvents.maskedCrc(data, 0, data.length));
  }

  @Test
  void scalarsShouldReadBackWithTheirStepsTagsAndValues(@TempDir final Path dir)
      throws IOException {
    final Path file;
    try (TensorBoardEvents events = TensorBoardEvents.create(dir, "host1", 1_700_000_000.25)) {
      file = events.file();
      events.scalars(
          10, 1_700_000_001.5, new String[] {"train/loss", "train/lr"}, new double[] {2.5, 0.1});
      events.scalars(
          20,
          1_700_000_002.5,
          new String[] {"train/loss", "epoch/val_acc"},
          new double[] {1.25, 0.875});
    }
    assertEquals("events.out.tfevents.1700000000.host1", file.getFileName().toString());
    final List<TensorBoardFiles.Event> read = TensorBoardFiles.read(file);
    assertEquals(3, read.size());
    assertEquals(TensorBoardEvents.FILE_VERSION, read.get(0).fileVersion());
    assertEquals(1_700_000_000.25, read.get(0).wallTime());
    assertEquals(10, read.get(1).step());
    assertEquals(1_700_000_001.5, read.get(1).wallTime());
    assertEquals(Map.of("train/loss", 2.5f, "train/lr", (float) 0.1), read.get(1).scalars());
    assertEquals(20, read.get(2).step());
    assertEquals(Map.of("train/loss", 1.25f, "epoch/val_acc", 0.875f), read.get(2).scalars());
  }

  @Test
  void aSecondWriterInTheSameSecondGetsItsOwnFile(@TempDir final Path dir) throws IOException {
    try (TensorBoardEvents a = TensorBoardEvents.create(dir, "h", 5);
        TensorBoardEvents b = TensorBoardEvents.create(dir, "h", 5)) {
      assertNotEquals(a.file(), b.file());
      assertTrue(b.file().getFileName().toString().startsWith("events.out.tfevents.5.h"));
    }
  }

  @Test
  void aCorruptedRecordFailsItsChecksum(@TempDir final Path dir) throws IOException {
    final Path file;
    try (TensorBoardEvents events = TensorBoardEvents.create(dir, "h", 1)) {
      file = events.file();
      events.scalars(1, 2, new String[] {"x"}, new double[] {3});
    }
    final byte[] bytes = Files.readAllBytes(file);
    bytes[bytes.length - 6] ^= 1; // inside the last record's data
    Files.write(file, bytes);
    final AssertionError e =
        org.junit.jupiter.api.Assertions.assertThrows(
            AssertionError.class, () -> TensorBoardFiles.read(file));
    assertTrue(e.getMessage().contains("data checksum"), e.getMessage());
  }
}
