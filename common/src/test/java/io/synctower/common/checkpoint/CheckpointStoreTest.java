package io.synctower.common.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointStoreTest {
  @TempDir Path runDir;

  private CheckpointStore store() {
    return new CheckpointStore(runDir.resolve("checkpoints"));
  }

  private static byte[] bytes(final long seed, final int length) {
    final byte[] b = new byte[length];
    new Random(seed).nextBytes(b);
    return b;
  }

  private static List<CheckpointFile> files(final long step) {
    return List.of(
        CheckpointFile.ofBytes("params.bin", bytes(step, 100_000)),
        CheckpointFile.ofText("state.json", "{\"step\": " + step + ", \"note\": \"é\"}"));
  }

  private static String crc32cHex(final byte[] bytes) {
    final CRC32C crc = new CRC32C();
    crc.update(bytes);
    return String.format("%08x", crc.getValue());
  }

  private static void flipByte(final Path file, final int index) throws IOException {
    final byte[] b = Files.readAllBytes(file);
    b[index] ^= 0x5a;
    Files.write(file, b);
  }

  private static void truncate(final Path file, final int length) throws IOException {
    final byte[] b = Files.readAllBytes(file);
    Files.write(file, java.util.Arrays.copyOf(b, length));
  }

  private List<String> rootEntries() throws IOException {
    try (Stream<Path> s = Files.list(store().root())) {
      return s.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  private Path dir(final String name) {
    return store().root().resolve(name);
  }

  @Test
  void shouldReturnTheCommittedBytesAndTextFromLatest() throws IOException {
    final CheckpointStore store = store();
    final Path dir = store.commit(120, files(120), 3);

    final StoredCheckpoint c = store.loadLatest();

    assertEquals(dir("step-00000120"), dir);
    assertEquals(dir, c.directory());
    assertEquals(120, c.step());
    assertEquals(List.of("params.bin", "state.json"), List.copyOf(c.files().keySet()));
    assertArrayEquals(bytes(120, 100_000), Files.readAllBytes(c.file("params.bin")));
    assertEquals("{\"step\": 120, \"note\": \"é\"}", c.text("state.json"));
    assertEquals(List.of(), c.skipped());
    assertEquals(120, CheckpointStore.load(dir).step());
  }

  @Test
  void shouldWriteAManifestThatListsEachFilesSizeAndCrc32cAndChecksItself() throws IOException {
    final byte[] params = bytes(7, 1000);
    store().commit(7, List.of(CheckpointFile.ofBytes("params.bin", params)), 1);

    final List<String> lines = Files.readAllLines(dir("step-00000007").resolve("manifest"));

    assertEquals("synctower-checkpoint-manifest 1", lines.get(0));
    assertEquals("step 7", lines.get(1));
    assertTrue(lines.get(2).startsWith("created "), lines.get(2));
    assertEquals("file params.bin 1000 " + crc32cHex(params), lines.get(3));
    final byte[] body =
        (String.join("\n", lines.subList(0, 4)) + "\n").getBytes(StandardCharsets.UTF_8);
    assertEquals("crc32c " + crc32cHex(body), lines.get(4));
    assertEquals(5, lines.size());
  }

  @Test
  void shouldMoveLatestToEachNewCommit() throws IOException {
    final CheckpointStore store = store();
    for (long step = 10; step <= 30; step += 10) {
      store.commit(step, files(step), 5);

      assertEquals(
          String.format("step-%08d%n", step),
          Files.readString(store.root().resolve("latest")),
          "latest after committing step " + step);
      assertEquals(step, store.loadLatest().step());
    }
  }

  @Test
  void shouldPruneAllButTheNewestKeepCheckpointsAndNeverTheLatest() throws IOException {
    final CheckpointStore store = store();
    for (long step = 1; step <= 5; step++) {
      store.commit(step, files(step), 2);
    }
    assertEquals(List.of(dir("step-00000004"), dir("step-00000005")), store.committed());

    store.commit(6, files(6), 1);

    assertEquals(List.of(dir("step-00000006")), store.committed());
    assertEquals(6, store.loadLatest().step());
  }

  @Test
  void shouldOrderCheckpointsByStepWhenLargeStepsNeedMoreDigits() throws IOException {
    final CheckpointStore store = store();
    store.commit(99_999_999L, files(1), 2);
    store.commit(100_000_000L, files(2), 2);
    store.commit(100_000_001L, files(3), 2);

    // By name "step-100000000" sorts before "step-99999999"; by step it is newer.
    assertEquals(List.of(dir("step-100000000"), dir("step-100000001")), store.committed());
    assertEquals(100_000_001L, store.loadLatest().step());
  }

  @Test
  void shouldRejectKeepBelowOneNamingTheValue() {
    final IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> store().commit(1, files(1), 0));

    assertTrue(e.getMessage().contains("got 0"), e.getMessage());
    assertFalse(Files.exists(store().root()), "nothing is written for a rejected commit");
  }

  @Test
  void shouldRejectBadAndDuplicateFileNames() {
    assertThrows(IllegalArgumentException.class, () -> CheckpointFile.ofText("manifest", ""));
    assertThrows(IllegalArgumentException.class, () -> CheckpointFile.ofText("../x", ""));
    assertThrows(IllegalArgumentException.class, () -> CheckpointFile.ofText(".hidden", ""));
    assertThrows(IllegalArgumentException.class, () -> CheckpointFile.ofText("a b", ""));
    final IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                store()
                    .commit(
                        1,
                        List.of(CheckpointFile.ofText("a", "1"), CheckpointFile.ofText("a", "2")),
                        1));
    assertTrue(e.getMessage().contains("'a'"), e.getMessage());
  }

  @Test
  void shouldThrowNoCheckpointForAnEmptyOrMissingRoot() throws IOException {
    assertThrows(NoCheckpointException.class, () -> store().loadLatest());
    Files.createDirectories(store().root());
    final NoCheckpointException e =
        assertThrows(NoCheckpointException.class, () -> store().loadLatest(true));
    assertTrue(e.getMessage().contains(store().root().toString()), e.getMessage());
    assertEquals(List.of(), store().committed());
  }

  @Test
  void shouldNameTheFileAndBothChecksumsWhenAByteIsFlipped() throws IOException {
    final CheckpointStore store = store();
    store.commit(100, files(100), 2);
    store.commit(120, files(120), 2);
    final Path params = dir("step-00000120").resolve("params.bin");
    flipByte(params, 4096);

    final CheckpointCorruptException e =
        assertThrows(CheckpointCorruptException.class, store::loadLatest);

    final String expected = crc32cHex(bytes(120, 100_000));
    final String actual = crc32cHex(Files.readAllBytes(params));
    assertEquals(
        params
            + ": checksum mismatch: expected crc32c "
            + expected
            + ", file has "
            + actual
            + "; fix: resume with --fallback to use the previous checkpoint step-00000100, or"
            + " delete "
            + dir("step-00000120"),
        e.getMessage());
    assertEquals(dir("step-00000120"), e.path());
  }

  @Test
  void shouldNameTheFileAndBothSizesWhenAFileIsTruncated() throws IOException {
    store().commit(1, files(1), 2);
    final Path params = dir("step-00000001").resolve("params.bin");
    truncate(params, 1024);

    final CheckpointCorruptException e =
        assertThrows(CheckpointCorruptException.class, () -> store().loadLatest());

    assertTrue(
        e.getMessage().startsWith(params + ": truncated: 1024 of 100000 bytes; fix: "),
        e.getMessage());
    assertTrue(e.getMessage().contains("no older checkpoint to fall back to"), e.getMessage());
  }

  @Test
  void shouldNameAMissingFile() throws IOException {
    store().commit(1, files(1), 2);
    final Path state = dir("step-00000001").resolve("state.json");
    Files.delete(state);

    final CheckpointCorruptException e =
        assertThrows(
            CheckpointCorruptException.class, () -> CheckpointStore.load(dir("step-00000001")));

    assertTrue(e.getMessage().startsWith(state + ": missing; fix: restore "), e.getMessage());
    assertEquals(List.of(state + ": missing"), e.problems());
  }

  @Test
  void shouldDetectATornManifest() throws IOException {
    store().commit(1, files(1), 2);
    final Path manifest = dir("step-00000001").resolve("manifest");
    truncate(manifest, (int) Files.size(manifest) / 2);

    final CheckpointCorruptException e =
        assertThrows(CheckpointCorruptException.class, () -> store().loadLatest());

    assertTrue(e.getMessage().startsWith(manifest + ": torn manifest: "), e.getMessage());
  }

  @Test
  void shouldDetectAManifestWhoseBodyWasChanged() throws IOException {
    store().commit(1, files(1), 2);
    final Path manifest = dir("step-00000001").resolve("manifest");
    final String text = Files.readString(manifest);
    // A plausible edit that keeps every line well-formed: only the closing checksum catches it.
    Files.writeString(manifest, text.replace("file params.bin 100000", "file params.bin 100001"));

    final CheckpointCorruptException e =
        assertThrows(CheckpointCorruptException.class, () -> store().loadLatest());

    assertTrue(
        e.getMessage().startsWith(manifest + ": manifest checksum mismatch: "), e.getMessage());
  }

  @Test
  void shouldNameLatestAndTheMissingDirectoryWhenNothingElseIsLeft() throws IOException {
    store().commit(9, files(9), 1);
    Files.delete(dir("step-00000009").resolve("manifest"));
    Files.delete(dir("step-00000009").resolve("params.bin"));
    Files.delete(dir("step-00000009").resolve("state.json"));
    Files.delete(dir("step-00000009"));
    final CheckpointCorruptException gone =
        assertThrows(CheckpointCorruptException.class, () -> store().loadLatest(true));
    final Path latest = store().root().resolve("latest");
    assertTrue(
        gone.getMessage()
            .startsWith(
                latest + " names step-00000009, which is missing (" + dir("step-00000009") + ")"),
        gone.getMessage());
    assertEquals(latest, gone.path());
  }

  @Test
  void shouldUseTheNewestCommittedCheckpointWhenLatestNamesAMissingDirectory() throws IOException {
    store().commit(1, files(1), 2);
    store().commit(2, files(2), 2);
    Files.writeString(store().root().resolve("latest"), "step-00000003\n");

    final StoredCheckpoint c = store().loadLatest();

    assertEquals(2, c.step());
    assertEquals(1, c.skipped().size());
    assertTrue(
        c.skipped().get(0).contains("names step-00000003, which is missing"), c.skipped().get(0));
  }

  @Test
  void shouldUseTheNewestCommittedCheckpointWhenLatestIsMissing() throws IOException {
    store().commit(1, files(1), 2);
    store().commit(2, files(2), 2);
    Files.delete(store().root().resolve("latest"));

    final StoredCheckpoint c = store().loadLatest();

    assertEquals(2, c.step());
    assertEquals(
        List.of(
            store().root().resolve("latest") + ": missing; using the newest committed checkpoint"),
        c.skipped());
  }

  @Test
  void shouldFallBackToThePreviousCheckpointAndSayWhyOnlyWhenAsked() throws IOException {
    final CheckpointStore store = store();
    store.commit(100, files(100), 3);
    store.commit(110, files(110), 3);
    store.commit(120, files(120), 3);
    final Path params = dir("step-00000120").resolve("params.bin");
    truncate(params, 10);

    assertThrows(CheckpointCorruptException.class, () -> store.loadLatest(false));
    final StoredCheckpoint c = store.loadLatest(true);

    assertEquals(110, c.step());
    assertArrayEquals(bytes(110, 100_000), Files.readAllBytes(c.file("params.bin")));
    assertEquals(List.of(params + ": truncated: 10 of 100000 bytes"), c.skipped());
  }

  @Test
  void shouldListEverySkippedCheckpointWhenNoneVerifies() throws IOException {
    final CheckpointStore store = store();
    store.commit(1, files(1), 2);
    store.commit(2, files(2), 2);
    flipByte(dir("step-00000001").resolve("params.bin"), 0);
    Files.delete(dir("step-00000002").resolve("state.json"));

    final CheckpointCorruptException e =
        assertThrows(CheckpointCorruptException.class, () -> store.loadLatest(true));

    assertEquals(2, e.problems().size(), e.getMessage());
    assertTrue(e.problems().get(0).endsWith("state.json: missing"), e.getMessage());
    assertTrue(e.problems().get(1).contains("checksum mismatch"), e.getMessage());
    assertTrue(e.getMessage().contains("no committed checkpoint in "), e.getMessage());
  }

  @Test
  void shouldIgnoreLeftoverTemporariesWhenLoadingAndRemoveThemOnTheNextCommit() throws IOException {
    final CheckpointStore store = store();
    store.commit(1, files(1), 2);
    final Path leftover = store.root().resolve(".tmp-step-00000002-0c0ffee");
    Files.createDirectories(leftover.resolve("sub"));
    Files.write(leftover.resolve("params.bin"), bytes(9, 10));
    Files.writeString(store.root().resolve("latest.tmp-0c0ffee"), "step-00000002\n");

    assertEquals(1, store.loadLatest().step());
    assertEquals(List.of(dir("step-00000001")), store.committed());

    store.commit(2, files(2), 2);

    assertEquals(List.of("latest", "step-00000001", "step-00000002"), rootEntries());
  }

  @Test
  void shouldCommitAStepAgainUnderANewRevisionAndDropTheOldOne() throws IOException {
    final CheckpointStore store = store();
    store.commit(1, files(1), 2);
    store.commit(2, files(2), 2);
    final List<CheckpointFile> again = List.of(CheckpointFile.ofText("state.json", "second try"));

    final Path dir = store.commit(2, again, 2);

    assertEquals(dir("step-00000002-r1"), dir);
    assertEquals(List.of(dir("step-00000001"), dir("step-00000002-r1")), store.committed());
    final StoredCheckpoint c = store.loadLatest();
    assertEquals(2, c.step());
    assertEquals("second try", c.text("state.json"));
    assertEquals(dir("step-00000002-r2"), store.commit(2, files(2), 2));
  }

  @Test
  void shouldKeepTheRevisionADerivedCheckpointCameFromAsItsFallback() throws IOException {
    final CheckpointStore store = store();
    store.commit(1, files(1), 3);
    store.commit(2, files(2), 3);
    final List<CheckpointFile> derived = List.of(CheckpointFile.ofText("state.json", "precise"));

    final Path dir = store.commitRevision(2, derived, 3);

    assertEquals(dir("step-00000002-r1"), dir);
    assertEquals(
        List.of(dir("step-00000001"), dir("step-00000002"), dir("step-00000002-r1")),
        store.committed());
    assertEquals("precise", store.loadLatest().text("state.json"));
    assertEquals(2, CheckpointStore.load(dir("step-00000002")).step());
    // keep counts the earlier revision: with keep 2 the oldest step goes, the parent stays.
    store.commitRevision(2, derived, 2);
    assertEquals(List.of(dir("step-00000002-r1"), dir("step-00000002-r2")), store.committed());
  }

  @Test
  void shouldPreferLatestOverANewerDirectoryItDoesNotNameAndReplaceThatOnRecommit()
      throws IOException {
    // The state a crash leaves between renaming step 3 into place and moving latest to it.
    final CheckpointStore store = store();
    store.commit(2, files(2), 2);
    store.commit(3, files(3), 2);
    Files.writeString(store.root().resolve("latest"), "step-00000002\n");

    assertEquals(2, store.loadLatest().step());
    store.commit(3, List.of(CheckpointFile.ofText("state.json", "redone")), 2);

    assertEquals(List.of(dir("step-00000002"), dir("step-00000003-r1")), store.committed());
    assertEquals("redone", store.loadLatest().text("state.json"));
  }

  @Test
  void shouldDeleteCheckpointsOfAnAbandonedRunWhenResumingFromAnEarlierOne() throws IOException {
    final CheckpointStore store = store();
    for (long step = 1; step <= 3; step++) {
      store.commit(step, files(step), 5);
    }
    assertEquals(1, CheckpointStore.load(dir("step-00000001")).step());

    store.commit(2, files(2), 5);

    assertEquals(List.of(dir("step-00000001"), dir("step-00000002-r1")), store.committed());
  }

  @Test
  void shouldLeaveLatestAndThePreviousCheckpointIntactWhenAWriterFails() throws IOException {
    final CheckpointStore store = store();
    store.commit(1, files(1), 2);
    final CheckpointFile failing =
        new CheckpointFile(
            "params.bin",
            out -> {
              out.write(ByteBuffer.wrap(bytes(2, 50_000)));
              throw new IOException("No space left on device (simulated)");
            });

    final IOException e =
        assertThrows(
            IOException.class,
            () -> store.commit(2, List.of(CheckpointFile.ofText("a.txt", "a"), failing), 2));

    assertTrue(e.getMessage().contains(dir("step-00000002").toString()), e.getMessage());
    assertTrue(e.getMessage().contains("(simulated)"), e.getMessage());
    assertTrue(e.getMessage().contains("latest and the existing checkpoints are unchanged"));
    assertEquals(List.of("latest", "step-00000001"), rootEntries());
    final StoredCheckpoint c = store.loadLatest();
    assertEquals(1, c.step());
    assertArrayEquals(bytes(1, 100_000), Files.readAllBytes(c.file("params.bin")));
  }

  @Test
  void shouldCleanUpWhenAContentThrowsAnUncheckedException() throws IOException {
    final CheckpointStore store = store();
    store.commit(1, files(1), 2);
    final CheckpointFile failing =
        new CheckpointFile(
            "params.bin",
            out -> {
              throw new IllegalStateException("model is mid-step");
            });

    assertThrows(IllegalStateException.class, () -> store.commit(2, List.of(failing), 2));

    assertEquals(List.of("latest", "step-00000001"), rootEntries());
  }

  @Test
  void shouldNameAFileTheCheckpointDoesNotHave() throws IOException {
    store().commit(1, files(1), 1);

    final CheckpointCorruptException e =
        assertThrows(CheckpointCorruptException.class, () -> store().loadLatest().file("opt.bin"));

    assertTrue(
        e.getMessage().startsWith(dir("step-00000001").resolve("opt.bin") + ": missing"),
        e.getMessage());
  }

  @Test
  void shouldDetectADirectoryWhoseManifestNamesAnotherStep() throws IOException {
    store().commit(1, files(1), 1);
    Files.move(dir("step-00000001"), dir("step-00000005"));

    final CheckpointCorruptException e =
        assertThrows(
            CheckpointCorruptException.class, () -> CheckpointStore.load(dir("step-00000005")));

    assertTrue(
        e.getMessage().contains("says step 1, the directory name says step 5"), e.getMessage());
  }
}
