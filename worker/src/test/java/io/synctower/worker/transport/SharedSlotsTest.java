package io.synctower.worker.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link SharedSlots}' files: never a stale incarnation's, never deleted by a predecessor. */
class SharedSlotsTest {
  @TempDir Path dir;

  @Test
  void shouldMapOnlyTheFileOfThePublicationItReceivesFrom() throws Exception {
    // Rank 1's publication to rank 0 has initial term id 111 in this incarnation; a stale file of
    // an earlier one (77) sits under the same name first.
    try (SharedSlots member0 = new SharedSlots(dir, 5L, 2, 0, 2, 4096, new int[] {0, 42})) {
      final SharedSlots stale = new SharedSlots(dir, 5L, 2, 1, 2, 4096, new int[] {77, 0});
      assertFalse(member0.mapPeer(1, 111), "a stale file was mapped");
      try (SharedSlots member1 = new SharedSlots(dir, 5L, 2, 1, 2, 4096, new int[] {111, 0})) {
        stale.close(); // the old incarnation's close must not delete its successor's file
        assertTrue(Files.exists(member1.path(1)));
        assertTrue(member0.mapPeer(1, 111));
        assertTrue(member1.mapPeer(0, 42));
        // Counters and slots are shared: what one writes the other reads.
        member1.publish(1, 9L, 1234L, 3L);
        assertEquals(3L, member0.written(1));
        assertEquals(0L, member1.written(0));
        assertEquals(9L, member0.round(1, 1));
        assertEquals(1234L, member0.signature(1, 1));
        member0.publish(0, 10L, 5678L, 1L);
        assertEquals(1L, member1.written(0));
        assertEquals(5678L, member1.signature(0, 0));
      }
      assertFalse(Files.exists(member0.path(1)));
    }
    try (Stream<Path> left = Files.list(dir)) {
      assertEquals(0, left.count(), "files or temporaries left behind");
    }
  }

  @Test
  void shouldNotMapAFileOfAnotherGroupShape() throws Exception {
    try (SharedSlots member0 = new SharedSlots(dir, 5L, 0, 0, 2, 4096, new int[] {0, 1});
        SharedSlots member1 = new SharedSlots(dir, 5L, 0, 1, 2, 8192, new int[] {3, 0})) {
      assertFalse(member0.mapPeer(1, 3), "another piece size was mapped");
    }
  }
}
