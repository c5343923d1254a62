package io.synctower.coordinator.towers;

import io.synctower.common.protocol.Report;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/** What the coordinator checks in a round of reports (one per tower), whatever the transport. */
public final class Rounds {
  private Rounds() {}

  /**
   * The round sorted by rank.
   *
   * @throws TowerFailedException naming the first failure that is not a consequence of another
   *     tower's (a tower that only stopped because a collective was aborted is not the cause)
   */
  public static List<Report> complete(final List<Report> round) {
    final List<Report.Failed> failed =
        round.stream()
            .filter(r -> r instanceof Report.Failed)
            .map(r -> (Report.Failed) r)
            .sorted(Comparator.comparing(Report.Failed::consequence))
            .toList();
    if (!failed.isEmpty()) {
      final Report.Failed first = failed.get(0);
      throw new TowerFailedException(
          "tower " + first.rank() + " failed at step " + first.step() + ": " + first.message(),
          first.cause(),
          first.rank());
    }
    final List<Report> sorted = new ArrayList<>(round);
    sorted.sort(Comparator.comparingInt(Report::rank));
    return sorted;
  }

  /** The ranks among {@code 0..towers-1} that have no report in {@code round}. */
  public static List<Integer> silent(final List<Report> round, final int towers) {
    final List<Integer> silent = new ArrayList<>();
    for (int rank = 0; rank < towers; rank++) {
      final int k = rank;
      if (round.stream().noneMatch(r -> r.rank() == k)) {
        silent.add(rank);
      }
    }
    return silent;
  }

  /**
   * Checks that every tower reported the same replica hash for a step.
   *
   * @throws ReplicaMismatchException naming the step and the towers that differ from tower 0
   */
  public static void checkReplicaHashes(final List<Report> round) {
    final long[] hashes =
        round.stream().mapToLong(r -> ((Report.StepDone) r).replicaHash()).toArray();
    final List<Integer> differing = new ArrayList<>();
    for (int r = 1; r < hashes.length; r++) {
      if (hashes[r] != hashes[0]) {
        differing.add(r);
      }
    }
    if (!differing.isEmpty()) {
      throw new ReplicaMismatchException(
          "replicas diverged at step "
              + ((Report.StepDone) round.get(0)).step()
              + ": towers "
              + differing
              + " differ from tower 0 (hashes "
              + Arrays.toString(hashes)
              + "). Parameters, moving statistics or optimizer state are no longer identical;"
              + " this is a bug, please report it with the run's config.yaml");
    }
  }
}
