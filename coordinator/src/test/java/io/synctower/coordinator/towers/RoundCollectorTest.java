package io.synctower.coordinator.towers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.metrics.MetricSums;
import io.synctower.common.metrics.PhaseTimes;
import io.synctower.common.protocol.Command;
import io.synctower.common.protocol.Report;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * The round policy, driven by a fake clock and a scripted report queue (no threads, no sleeps): a
 * step past its deadline names the silent towers, a tower that reports in the grace period is still
 * named as late, a failure gets the grace period, and differing replica hashes name the towers.
 */
class RoundCollectorTest {
  private static final long MS = 1_000_000L;
  private static final Duration DEADLINE = Duration.ofMillis(1000);
  private static final Duration GRACE = Duration.ofMillis(500);

  /** Reports that arrive at given (fake) times; polling an empty stretch advances the clock. */
  private static final class FakeTransport implements RoundCollector.Transport {
    long now;
    final TreeMap<Long, List<Report>> due = new TreeMap<>();
    final List<String> aborts = new ArrayList<>();
    final List<List<Integer>> stopped = new ArrayList<>();

    void at(final long timeNanos, final Report report) {
      due.computeIfAbsent(timeNanos, t -> new ArrayList<>()).add(report);
    }

    @Override
    public Report poll(final long timeoutNanos) {
      final long end = timeoutNanos == RoundCollector.FOREVER ? Long.MAX_VALUE : now + timeoutNanos;
      final var next = due.firstEntry();
      if (next == null || next.getKey() > end) {
        if (end == Long.MAX_VALUE) {
          throw new AssertionError("the collector would wait forever");
        }
        now = end;
        return null;
      }
      now = Math.max(now, next.getKey());
      final Report r = next.getValue().remove(0);
      if (next.getValue().isEmpty()) {
        due.remove(next.getKey());
      }
      return r;
    }

    @Override
    public void abortStep(final String reason) {
      aborts.add(reason);
    }

    @Override
    public void stopSilent(final List<Integer> ranks) {
      stopped.add(ranks);
    }

    @Override
    public String describe(final RoundCollector.Stall stall) {
      return "stalled "
          + stall.towers()
          + " late "
          + stall.reportedLate()
          + " step "
          + stall.step();
    }
  }

  private final FakeTransport transport = new FakeTransport();
  private final RoundCollector rounds =
      new RoundCollector(3, DEADLINE, GRACE, transport, () -> transport.now);

  private static Report done(final int rank, final long step, final long hash) {
    return new Report.StepDone(
        1, rank, step, new MetricSums(0, 0, 0, 1), PhaseTimes.ZERO, hash, false, "");
  }

  private static Command.TrainStep trainStep(final long step, final boolean hashes) {
    return new Command.TrainStep(1, 0, (int) step, step, 0.1, hashes);
  }

  /** Three steps of 100 ms each, so the deadline of the next is 3 x 100 ms + 1000 ms after it. */
  private void warmUp() throws InterruptedException {
    for (long step = 0; step < 3; step++) {
      rounds.sent(trainStep(step, false));
      for (int rank = 0; rank < 3; rank++) {
        transport.at(transport.now + 100 * MS, done(rank, step, 0));
      }
      assertEquals(3, rounds.collect().size());
    }
  }

  @Test
  void aStepPastItsDeadlineNamesTheSilentTowersAndGivesThemUp() throws Exception {
    warmUp();
    final long sent = transport.now;
    rounds.sent(trainStep(3, false));
    transport.at(sent + 50 * MS, done(0, 3, 0));
    transport.at(sent + 60 * MS, done(2, 3, 0));
    final TowerFailedException e = assertThrows(TowerFailedException.class, rounds::collect);
    assertEquals(Report.Cause.STALLED, e.failure());
    assertEquals("stalled [1] late false step 3", e.getMessage());
    assertEquals(1, e.rank());
    assertEquals(1, transport.aborts.size(), "every tower's step is aborted once");
    assertEquals(List.of(List.of(1)), transport.stopped);
    assertEquals(sent + 1300 * MS + 500 * MS, transport.now, "deadline, then the grace period");
  }

  @Test
  void aTowerThatReportsInTheGracePeriodIsStillNamedAsLate() throws Exception {
    warmUp();
    final long sent = transport.now;
    rounds.sent(trainStep(3, false));
    transport.at(sent + 50 * MS, done(0, 3, 0));
    transport.at(sent + 60 * MS, done(2, 3, 0));
    // After the abort tower 1 answers within the grace period: the step was only very slow.
    transport.at(sent + 1300 * MS + 200 * MS, done(1, 3, 0));
    final TowerFailedException e = assertThrows(TowerFailedException.class, rounds::collect);
    assertEquals(Report.Cause.STALLED, e.failure());
    assertEquals("stalled [1] late true step 3", e.getMessage());
    assertEquals(List.of(), transport.stopped, "no tower is left to give up");
  }

  @Test
  void noDeadlineDuringWarmUpNorForOtherCommands() throws Exception {
    rounds.sent(trainStep(0, false));
    for (int rank = 2; rank >= 0; rank--) {
      transport.at(3_600_000 * MS, done(rank, 0, 0)); // an hour: the first steps may autotune
    }
    final List<Report> round = rounds.collect();
    assertEquals(List.of(0, 1, 2), round.stream().map(Report::rank).toList(), "by rank");
    warmUp();
    rounds.sent(new Command.Evaluate(1, Command.DatasetRole.VALIDATION));
    for (int rank = 0; rank < 3; rank++) {
      transport.at(
          transport.now + 3_600_000 * MS,
          new Report.EvaluationDone(1, rank, new MetricSums(0, 0, 0, 1)));
    }
    assertEquals(3, rounds.collect().size());
    assertEquals(List.of(), transport.aborts);
  }

  @Test
  void aFailureIsNamedAfterTheGracePeriodEvenIfATowerStaysSilent() throws Exception {
    rounds.sent(trainStep(0, false));
    transport.at(10 * MS, new Report.Failed(1, 2, 0, "aborted by tower 1", Report.Cause.ABORTED));
    transport.at(20 * MS, new Report.Failed(1, 1, 0, "out of memory", Report.Cause.CRASHED));
    final TowerFailedException e = assertThrows(TowerFailedException.class, rounds::collect);
    assertEquals("tower 1 failed at step 0: out of memory", e.getMessage());
    assertEquals(Report.Cause.CRASHED, e.failure());
    assertEquals(10 * MS + 500 * MS, transport.now, "the grace period from the first failure");
  }

  @Test
  void differingReplicaHashesNameTheTowersWhenTheStepAskedForThem() throws Exception {
    rounds.sent(trainStep(41, false));
    for (int rank = 0; rank < 3; rank++) {
      transport.at(MS, done(rank, 41, rank == 2 ? 8 : 7));
    }
    assertEquals(3, rounds.collect().size(), "hashes not asked for: not compared");
    rounds.sent(trainStep(42, true));
    for (int rank = 0; rank < 3; rank++) {
      transport.at(transport.now + MS, done(rank, 42, rank == 0 ? 7 : 8));
    }
    final ReplicaMismatchException e =
        assertThrows(ReplicaMismatchException.class, rounds::collect);
    assertEquals(
        "replicas diverged at step 42: towers [1, 2] differ from tower 0 (hashes [7, 8, 8])."
            + " Parameters, moving statistics or optimizer state are no longer identical; this is"
            + " a bug, please report it with the run's config.yaml",
        e.getMessage());
  }

  @Test
  void differingReplicaHashesAfterPreciseBnNameTheTowers() throws Exception {
    rounds.sent(new Command.RunPreciseBn(1, 5, 0));
    for (int rank = 0; rank < 3; rank++) {
      transport.at(MS, new Report.PreciseBnDone(1, rank, 5, 10, rank == 1 ? 9 : 3, List.of()));
    }
    final ReplicaMismatchException e =
        assertThrows(ReplicaMismatchException.class, rounds::collect);
    assertEquals(
        "replicas diverged in precise BN: towers [1] differ from tower 0 (hashes [3, 9, 3]);"
            + " this is a bug, please report it with the run's config.yaml",
        e.getMessage());
    assertTrue(transport.aborts.isEmpty());
  }
}
