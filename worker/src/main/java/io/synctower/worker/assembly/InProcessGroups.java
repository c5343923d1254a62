package io.synctower.worker.assembly;

import io.synctower.common.comm.Collective;
import io.synctower.common.comm.InProcessGroup;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The collective groups of towers that are threads of one JVM: one {@link InProcessGroup} per group
 * id, made when its first member is opened. {@link #forRank} gives each tower the {@link
 * GroupOpener} a worker process gets from its Aeron endpoint, so in-process towers are assembled by
 * the same code.
 */
public final class InProcessGroups {
  private final Map<Integer, InProcessGroup> byId = new LinkedHashMap<>();

  /** Opens tower {@code rank}'s members of the groups it is asked for. */
  public GroupOpener forRank(final int rank) {
    return (groupId, firstRank, size) -> member(groupId, firstRank, size, rank);
  }

  /** Every group opened so far, in the order they were first opened (to abort them all). */
  public synchronized List<InProcessGroup> all() {
    return new ArrayList<>(byId.values());
  }

  private synchronized Collective member(
      final int groupId, final int firstRank, final int size, final int rank) {
    if (rank < firstRank || rank >= firstRank + size) {
      throw new IllegalArgumentException(
          String.format(
              "tower %d is not in group %d [%d, %d)", rank, groupId, firstRank, firstRank + size));
    }
    final InProcessGroup group = byId.computeIfAbsent(groupId, id -> new InProcessGroup(size));
    if (group.size() != size) {
      throw new IllegalArgumentException(
          "group " + groupId + " has " + group.size() + " towers, opened again with " + size);
    }
    return group.member(rank - firstRank);
  }
}
