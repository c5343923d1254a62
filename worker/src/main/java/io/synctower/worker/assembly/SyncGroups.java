package io.synctower.worker.assembly;

import io.synctower.common.comm.Collective;
import io.synctower.common.config.RunConfig;

/**
 * How the towers of a run split into SyncBN sync groups, written once for every way towers run.
 * Groups are consecutive ranks: tower {@code r} is member {@code r % size} of group {@code r /
 * size}, which spans ranks {@code [group * size, (group + 1) * size)}. The world group (every
 * tower, for gradients and union statistics) has id 0; sync group {@code g} has id {@code 1 + g}.
 *
 * @param towers the number of towers in the run
 * @param size towers per sync group; divides {@code towers}
 */
public record SyncGroups(int towers, int size) {
  /** The id of the group of every tower. */
  public static final int WORLD_ID = 0;

  public SyncGroups {
    if (towers < 1 || size < 1 || towers % size != 0) {
      throw new IllegalArgumentException(
          "sync groups of " + size + " towers do not tile " + towers + " towers");
    }
  }

  /**
   * The layout of {@code towers} towers in groups of {@code configuredSize} ({@code
   * bn.syncGroupSize}; 0 means one group of all towers).
   */
  public static SyncGroups of(final int towers, final int configuredSize) {
    return new SyncGroups(towers, configuredSize > 0 ? configuredSize : towers);
  }

  /** The layout {@code config} asks for ({@code towers}, {@code bn.syncGroupSize}). */
  public static SyncGroups of(final RunConfig config) {
    return of(config.towers(), config.bn().syncGroupSize());
  }

  /** Number of sync groups. */
  public int count() {
    return towers / size;
  }

  /** The sync group tower {@code rank} belongs to, 0..count()-1. */
  public int groupOf(final int rank) {
    checkRank(rank);
    return rank / size;
  }

  /** Tower {@code rank}'s rank inside its sync group, 0..size-1. */
  public int rankInGroup(final int rank) {
    checkRank(rank);
    return rank % size;
  }

  /** The lowest tower rank of sync group {@code group}. */
  public int firstRank(final int group) {
    if (group < 0 || group >= count()) {
      throw new IllegalArgumentException("sync group " + group + " is outside 0.." + (count() - 1));
    }
    return group * size;
  }

  /** The id of sync group {@code group} among the run's groups (after the world group). */
  public int groupId(final int group) {
    return WORLD_ID + 1 + group;
  }

  /** Tower {@code rank}'s member of the world group, opened with {@code opener}. */
  public Collective openWorld(final GroupOpener opener, final int rank) {
    checkRank(rank);
    return opener.open(WORLD_ID, 0, towers);
  }

  /** Tower {@code rank}'s member of its sync group, opened with {@code opener}. */
  public Collective openSyncGroup(final GroupOpener opener, final int rank) {
    final int group = groupOf(rank);
    return opener.open(groupId(group), firstRank(group), size);
  }

  private void checkRank(final int rank) {
    if (rank < 0 || rank >= towers) {
      throw new IllegalArgumentException("rank " + rank + " is outside 0.." + (towers - 1));
    }
  }
}
