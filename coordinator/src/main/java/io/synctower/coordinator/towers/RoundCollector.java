package io.synctower.coordinator.towers;

import io.synctower.common.protocol.Command;
import io.synctower.common.protocol.Report;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.function.LongSupplier;

/**
 * Collects the round of reports (one per tower) that answers a command, whatever carries them: the
 * one place for what the coordinator expects of a round. A {@link Towers} implementation tells it
 * each command it sends and asks it for the round:
 *
 * <pre>{@code
 * public void send(Command command) {
 *   rounds.sent(command);               // arms the stall deadline for a training step
 *   ...deliver command to every tower...
 * }
 * public List<Report> collect() throws InterruptedException {
 *   return rounds.collect();            // one report per tower, by rank, or it throws
 * }
 * }</pre>
 *
 * <p>The policy, the same for threads and worker processes:
 *
 * <ul>
 *   <li>Stall deadline: a training step that runs past its {@link StallWatch} deadline (3 typical
 *       steps + {@code failure.stepDeadline}) is stalled. The towers silent at that moment are
 *       noted, every tower's step is aborted ({@link Transport#abortStep}), and the towers get the
 *       grace period to report. Those still silent after it are given up ({@link
 *       Transport#stopSilent}) and named; if all of them reported late, the ones late at the
 *       deadline are named (the step was aborted either way, so the run cannot go on with it).
 *       Either way a {@link TowerFailedException} with cause {@link Report.Cause#STALLED}.
 *   <li>Failure: once a tower reports {@link Report.Failed}, the others get the grace period to
 *       report that they stopped; then the first failure that is not a consequence of another is
 *       named.
 *   <li>Replica hashes: after a training step that asked for them and after precise BN, every
 *       tower's replica hash must equal tower 0's, or {@link ReplicaMismatchException} names the
 *       towers that differ.
 * </ul>
 *
 * <p>Threads: {@link #sent} and {@link #collect} are called by the coordinator's training thread;
 * {@link #step} may be read from any thread.
 */
public final class RoundCollector {
  /** No deadline: wait as long as it takes. */
  public static final long FOREVER = Long.MAX_VALUE;

  /** What the collector needs from the transport that carries the reports. */
  public interface Transport {
    /**
     * The next report from any tower, waiting at most {@code timeoutNanos} ({@link
     * RoundCollector#FOREVER}: no limit); null if none came in time.
     *
     * @throws TowerFailedException if the transport has lost a tower meanwhile
     */
    Report poll(long timeoutNanos) throws InterruptedException;

    /** Stops every tower's step in flight; a tower waiting in a collective reports it stopped. */
    void abortStep(String reason);

    /** Gives up the towers {@code ranks} that stayed silent through the grace period. */
    void stopSilent(List<Integer> ranks);

    /**
     * The message of the {@link TowerFailedException} that names a stall, in this transport's
     * words.
     */
    String describe(Stall stall);
  }

  /**
   * A training step that missed its deadline.
   *
   * @param towers the towers named: silent after the grace period, or (if none was) the ones silent
   *     at the deadline
   * @param reportedLate whether every tower reported within the grace period after all
   * @param step the step
   * @param typicalNanos the typical (median recent) step duration the deadline was computed from
   */
  public record Stall(List<Integer> towers, boolean reportedLate, long step, long typicalNanos) {
    public Stall {
      towers = List.copyOf(towers);
    }
  }

  private final int towers;
  private final StallWatch watch;
  private final long graceNanos;
  private final Transport transport;
  private final LongSupplier clock;
  private volatile long step = -1;
  private boolean checkHashes;

  /**
   * @param towers how many towers answer each command
   * @param stepDeadline the run's {@code failure.stepDeadline}
   * @param grace how long towers may take to report once their step was aborted or another tower
   *     failed
   */
  public RoundCollector(
      final int towers,
      final Duration stepDeadline,
      final Duration grace,
      final Transport transport) {
    this(towers, stepDeadline, grace, transport, System::nanoTime);
  }

  /** As above, with {@code clock} in place of {@link System#nanoTime} (tests). */
  RoundCollector(
      final int towers,
      final Duration stepDeadline,
      final Duration grace,
      final Transport transport,
      final LongSupplier clock) {
    this.towers = towers;
    this.watch = new StallWatch(stepDeadline);
    this.graceNanos = grace.toNanos();
    this.transport = Objects.requireNonNull(transport, "transport");
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  /** {@code command} went out to every tower: a training step arms the stall deadline. */
  public void sent(final Command command) {
    if (command instanceof Command.TrainStep s) {
      step = s.step();
      watch.sent(clock.getAsLong());
      checkHashes = s.reportHash();
    } else {
      watch.disarm();
      checkHashes = command instanceof Command.RunPreciseBn;
    }
  }

  /** The step of the last training step sent, or -1 before the first. */
  public long step() {
    return step;
  }

  /**
   * Waits for one report from every tower and returns them by rank.
   *
   * @throws TowerFailedException naming the towers that stalled, or the first failure that is not a
   *     consequence of another tower's
   * @throws ReplicaMismatchException if the command asked for replica hashes and they differ
   */
  public List<Report> collect() throws InterruptedException {
    final List<Report> round = new ArrayList<>(towers);
    long graceEnd = FOREVER;
    List<Integer> late = null;
    while (round.size() < towers) {
      final long until = graceEnd != FOREVER ? graceEnd : watch.deadline();
      final Report r =
          transport.poll(until == FOREVER ? FOREVER : Math.max(0, until - clock.getAsLong()));
      if (r != null) {
        round.add(r);
        if (r instanceof Report.Failed && graceEnd == FOREVER) {
          // The others were aborted; give their reports a moment, then name the failure anyway.
          graceEnd = clock.getAsLong() + graceNanos;
        }
        continue;
      }
      final long now = clock.getAsLong();
      if (until == FOREVER || now - until < 0) {
        continue; // woke early
      }
      if (graceEnd != FOREVER) {
        break;
      }
      // The towers late at the deadline are the ones to name, even if the abort lets them report
      // within the grace period (a step that was only very slow): the step is aborted either way.
      late = silent(round, towers);
      transport.abortStep("the step missed its deadline (failure.stepDeadline)");
      graceEnd = now + graceNanos;
    }
    if (late != null) {
      throw stalled(round, late);
    }
    watch.completed(clock.getAsLong());
    final List<Report> sorted = complete(round);
    if (checkHashes) {
      checkReplicaHashes(sorted);
    }
    return sorted;
  }

  private TowerFailedException stalled(final List<Report> round, final List<Integer> late) {
    final List<Integer> silent = silent(round, towers);
    if (!silent.isEmpty()) {
      transport.stopSilent(silent);
    }
    final List<Integer> named = silent.isEmpty() ? late : silent;
    final Stall stall = new Stall(named, silent.isEmpty(), step, watch.typicalNanos());
    return new TowerFailedException(transport.describe(stall), Report.Cause.STALLED, named.get(0));
  }

  /**
   * The round sorted by rank.
   *
   * @throws TowerFailedException naming the first failure that is not a consequence of another
   *     tower's (a tower that only stopped because a collective was aborted is not the cause)
   */
  static List<Report> complete(final List<Report> round) {
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
  static List<Integer> silent(final List<Report> round, final int towers) {
    final boolean[] reported = new boolean[towers];
    for (final Report r : round) {
      reported[r.rank()] = true;
    }
    final List<Integer> silent = new ArrayList<>();
    for (int rank = 0; rank < towers; rank++) {
      if (!reported[rank]) {
        silent.add(rank);
      }
    }
    return silent;
  }

  /**
   * Checks that every tower reported the same replica hash, after a training step ({@link
   * Report.StepDone}) or precise BN ({@link Report.PreciseBnDone}); {@code round} is by rank.
   *
   * @throws ReplicaMismatchException naming the step (or precise BN) and the towers that differ
   *     from tower 0
   */
  static void checkReplicaHashes(final List<Report> round) {
    final long[] hashes = round.stream().mapToLong(RoundCollector::replicaHash).toArray();
    final List<Integer> differing = new ArrayList<>();
    for (int r = 1; r < hashes.length; r++) {
      if (hashes[r] != hashes[0]) {
        differing.add(r);
      }
    }
    if (differing.isEmpty()) {
      return;
    }
    final boolean afterStep = round.get(0) instanceof Report.StepDone;
    throw new ReplicaMismatchException(
        "replicas diverged "
            + (afterStep ? "at step " + ((Report.StepDone) round.get(0)).step() : "in precise BN")
            + ": towers "
            + differing
            + " differ from tower 0 (hashes "
            + Arrays.toString(hashes)
            + ")"
            + (afterStep
                ? ". Parameters, moving statistics or optimizer state are no longer identical"
                : "")
            + "; this is a bug, please report it with the run's config.yaml");
  }

  private static long replicaHash(final Report report) {
    if (report instanceof Report.StepDone s) {
      return s.replicaHash();
    }
    if (report instanceof Report.PreciseBnDone b) {
      return b.replicaHash();
    }
    throw new IllegalArgumentException(
        "a " + report.getClass().getSimpleName() + " carries no replica hash");
  }
}
