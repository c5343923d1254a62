package io.synctower.worker.assembly;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.synctower.common.comm.Collective;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The sync-group layout, checked against a hand-computed table of the layout the in-process towers,
 * the worker process and the test harness each computed before {@link SyncGroups} (tower r in group
 * r / size at position r % size; worker processes opened group id 1 + r / size from rank (r / size)
 * * size).
 */
class SyncGroupsTest {

  @ParameterizedTest(name = "{0} towers, syncGroupSize {1}")
  @CsvSource(
      delimiter = ';',
      value = {
        // towers; configured; size; group of each rank; rank in group; group id; first rank
        "1; 0; 1; 0;               0;               1;               0",
        "2; 0; 2; 0 0;             0 1;             1 1;             0 0",
        "4; 0; 4; 0 0 0 0;         0 1 2 3;         1 1 1 1;         0 0 0 0",
        "4; 4; 4; 0 0 0 0;         0 1 2 3;         1 1 1 1;         0 0 0 0",
        "4; 2; 2; 0 0 1 1;         0 1 0 1;         1 1 2 2;         0 0 2 2",
        "4; 1; 1; 0 1 2 3;         0 0 0 0;         1 2 3 4;         0 1 2 3",
        "6; 3; 3; 0 0 0 1 1 1;     0 1 2 0 1 2;     1 1 1 2 2 2;     0 0 0 3 3 3",
        "6; 2; 2; 0 0 1 1 2 2;     0 1 0 1 0 1;     1 1 2 2 3 3;     0 0 2 2 4 4",
        "8; 4; 4; 0 0 0 0 1 1 1 1; 0 1 2 3 0 1 2 3; 1 1 1 1 2 2 2 2; 0 0 0 0 4 4 4 4"
      })
  void shouldPlaceEachTowerInTheGroupOfItsConsecutiveRanks(
      final int towers,
      final int configured,
      final int size,
      final String groups,
      final String ranksInGroup,
      final String groupIds,
      final String firstRanks) {
    final SyncGroups layout = SyncGroups.of(towers, configured);
    assertEquals(size, layout.size());
    assertEquals(towers / size, layout.count());
    final int[] group = ints(groups);
    final int[] inGroup = ints(ranksInGroup);
    final int[] id = ints(groupIds);
    final int[] first = ints(firstRanks);
    for (int r = 0; r < towers; r++) {
      assertEquals(group[r], layout.groupOf(r), "group of rank " + r);
      assertEquals(inGroup[r], layout.rankInGroup(r), "rank in group of rank " + r);
      assertEquals(id[r], layout.groupId(layout.groupOf(r)), "group id of rank " + r);
      assertEquals(first[r], layout.firstRank(layout.groupOf(r)), "first rank of rank " + r);
    }
  }

  @Test
  void shouldOpenTheWorldAsGroupZeroAndEachSyncGroupUnderItsOwnId() {
    final SyncGroups layout = SyncGroups.of(6, 3);
    final List<String> opened = new ArrayList<>();
    final GroupOpener recorder =
        (groupId, firstRank, size) -> {
          opened.add(groupId + ":" + firstRank + "+" + size);
          return null;
        };
    for (int r = 0; r < 6; r++) {
      layout.openWorld(recorder, r);
      layout.openSyncGroup(recorder, r);
    }
    assertEquals(
        List.of(
            "0:0+6", "1:0+3", "0:0+6", "1:0+3", "0:0+6", "1:0+3", "0:0+6", "2:3+3", "0:0+6",
            "2:3+3", "0:0+6", "2:3+3"),
        opened);
  }

  @Test
  void shouldGiveInProcessTowersOfOneGroupOneSharedGroup() {
    final SyncGroups layout = SyncGroups.of(4, 2);
    final InProcessGroups groups = new InProcessGroups();
    for (int r = 0; r < 4; r++) {
      final Collective world = layout.openWorld(groups.forRank(r), r);
      final Collective sync = layout.openSyncGroup(groups.forRank(r), r);
      assertEquals(r, world.rank());
      assertEquals(4, world.size());
      assertEquals(r % 2, sync.rank());
      assertEquals(2, sync.size());
    }
    // The world group and two sync groups, each made once.
    assertEquals(List.of(4, 2, 2), groups.all().stream().map(g -> g.size()).toList());
  }

  @Test
  void shouldRejectGroupsThatDoNotTileTheTowers() {
    assertThrows(IllegalArgumentException.class, () -> SyncGroups.of(6, 4));
    assertThrows(IllegalArgumentException.class, () -> SyncGroups.of(4, 2).groupOf(4));
    final InProcessGroups groups = new InProcessGroups();
    groups.forRank(0).open(1, 0, 2);
    assertThrows(IllegalArgumentException.class, () -> groups.forRank(1).open(1, 0, 4));
    assertThrows(IllegalArgumentException.class, () -> groups.forRank(3).open(1, 0, 2));
  }

  private static int[] ints(final String spaced) {
    return Arrays.stream(spaced.trim().split("\\s+")).mapToInt(Integer::parseInt).toArray();
  }
}
