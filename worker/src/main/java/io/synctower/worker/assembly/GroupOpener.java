package io.synctower.worker.assembly;

import io.synctower.common.comm.Collective;

/**
 * Opens one tower's member of a collective group: over Aeron for a worker process, over shared
 * memory for towers that are threads of one JVM ({@link InProcessGroups}). The tower assembly asks
 * for its groups through this, so both kinds of tower are built by the same code.
 */
@FunctionalInterface
public interface GroupOpener {
  /**
   * This tower's collective over the towers {@code [firstRank, firstRank + size)}.
   *
   * @param groupId tells the groups of one run apart (0 is the world group, see {@link
   *     SyncGroups#groupId}); over Aeron it separates the groups' streams
   */
  Collective open(int groupId, int firstRank, int size);
}
