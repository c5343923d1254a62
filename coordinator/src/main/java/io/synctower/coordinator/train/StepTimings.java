package io.synctower.coordinator.train;

import io.synctower.common.metrics.PhaseTimes;
import io.synctower.common.protocol.Report;
import java.util.List;
import java.util.Locale;
import org.apache.commons.math3.stat.descriptive.DescriptiveStatistics;

/**
 * Where the time of each step goes, from the coordinator's view (send to last report) and the
 * towers' own timings.
 *
 * <p>Per step, the split is that of the tower the step waited for: the one that reached the
 * gradient all-reduce last (the longest data wait + forward + backward + BN-statistic all-reduce).
 * Its gradient all-reduce phase is the communication the step could not hide behind compute
 * ("exposed"); the other towers' longer waits in that all-reduce are spent waiting for it, and are
 * reported apart as the wait for the slowest tower (load imbalance: on shared cores, mostly one
 * process being scheduled later than the other). {@link Phase#IDLE} is the rest of the
 * coordinator's wall time, which no tower accounts for (sending the command, collecting the
 * reports, thread wake-ups, a tower that started late), so the phases of a step add up to its wall
 * time. Taking one tower's phases, not each phase's maximum over towers, keeps that sum honest: a
 * fast tower's long wait in an all-reduce and a slow tower's long compute are the same seconds. The
 * BN-statistic all-reduce phase includes waiting for the slowest tower of the sync group at each
 * SyncBN layer.
 *
 * <p>Every step's values are kept (a few doubles per step), so percentiles and {@link #skipFirst}
 * see the whole run.
 */
public final class StepTimings {
  /** The phases of a step, in the order they run, and the coordinator's unaccounted rest. */
  public enum Phase {
    DATA_WAIT("data wait"),
    FORWARD("forward"),
    BACKWARD("backward"),
    BN_REDUCE("BN-statistic all-reduce"),
    ALL_REDUCE("gradient all-reduce"),
    OPTIMIZER("optimizer"),
    IDLE("idle");

    private final String label;

    Phase(final String label) {
      this.label = label;
    }

    /** How the run log and reports name the phase. */
    public String label() {
      return label;
    }
  }

  private static final Phase[] PHASES = Phase.values();

  private final DescriptiveStatistics wall = new DescriptiveStatistics();
  private final DescriptiveStatistics[] phases = new DescriptiveStatistics[PHASES.length];
  // Samples of the tower whose split is kept: compute per sample is compute / this.
  private final DescriptiveStatistics samples = new DescriptiveStatistics();
  private final DescriptiveStatistics allReduceShare = new DescriptiveStatistics();
  // How much longer than the waited-for tower the longest-waiting tower sat in the all-reduce.
  private final DescriptiveStatistics imbalance = new DescriptiveStatistics();
  private final DescriptiveStatistics imbalanceShare = new DescriptiveStatistics();

  public StepTimings() {
    for (int i = 0; i < phases.length; i++) {
      phases[i] = new DescriptiveStatistics();
    }
  }

  /** Adds one step: its wall time at the coordinator and every tower's report. */
  public void add(final long wallNanos, final List<Report> round) {
    Report.StepDone waitedFor = null;
    long latestArrival = -1;
    long longestAllReduce = 0;
    for (final Report r : round) {
      final Report.StepDone s = (Report.StepDone) r;
      final long arrival = arrivalAtAllReduce(s.times());
      if (arrival > latestArrival) {
        latestArrival = arrival;
        waitedFor = s;
      }
      longestAllReduce = Math.max(longestAllReduce, s.times().allReduceNanos());
    }
    if (waitedFor == null) {
      return;
    }
    final PhaseTimes s = waitedFor.times();
    add(
        wallNanos / 1e6,
        waitedFor.sums().samples(),
        Math.max(0, longestAllReduce - s.allReduceNanos()) / 1e6,
        s.dataWaitNanos() / 1e6,
        s.forwardNanos() / 1e6,
        s.backwardNanos() / 1e6,
        s.bnReduceNanos() / 1e6,
        s.allReduceNanos() / 1e6,
        s.optimizerNanos() / 1e6,
        Math.max(0, wallNanos - s.accountedNanos()) / 1e6);
  }

  /** When a tower reached the gradient all-reduce, from the start of its step. */
  private static long arrivalAtAllReduce(final PhaseTimes t) {
    return t.dataWaitNanos() + t.forwardNanos() + t.backwardNanos() + t.bnReduceNanos();
  }

  private void add(
      final double wallMillis,
      final double towerSamples,
      final double imbalanceMillis,
      final double... millis) {
    wall.addValue(wallMillis);
    samples.addValue(towerSamples);
    imbalanceShare.addValue(wallMillis > 0 ? imbalanceMillis / wallMillis : 0);
    imbalance.addValue(imbalanceMillis);
    for (int i = 0; i < millis.length; i++) {
      phases[i].addValue(millis[i]);
    }
    allReduceShare.addValue(wallMillis > 0 ? millis[Phase.ALL_REDUCE.ordinal()] / wallMillis : 0);
  }

  /**
   * The same timings without the first {@code steps} steps (warm-up: JIT compilation, first-touch
   * allocation), as a new object; this one is unchanged.
   */
  public StepTimings skipFirst(final int steps) {
    final StepTimings rest = new StepTimings();
    final double[] millis = new double[PHASES.length];
    for (int i = steps; i < wall.getN(); i++) {
      for (int p = 0; p < millis.length; p++) {
        millis[p] = phases[p].getElement(i);
      }
      rest.add(wall.getElement(i), samples.getElement(i), imbalance.getElement(i), millis);
    }
    return rest;
  }

  /**
   * The timings of the steps after the first {@code seconds} of stepping (summed step wall times):
   * the steady state once the JVM has compiled the step's code (see {@code WarmUp} in the command
   * line package), as a new object; this one is unchanged. Empty when every step started within
   * those seconds.
   */
  public StepTimings afterFirstSeconds(final double seconds) {
    final double millis = seconds * 1e3;
    double elapsed = 0;
    int skip = 0;
    while (skip < wall.getN() && elapsed < millis) {
      elapsed += wall.getElement(skip);
      skip++;
    }
    return skipFirst(skip);
  }

  public long steps() {
    return wall.getN();
  }

  /**
   * Median share of the step the waited-for tower spent in the gradient all-reduce (0..1): the
   * communication not hidden behind compute.
   */
  public double exposedCommunication() {
    return allReduceShare.getPercentile(50);
  }

  /**
   * Median share of the step the longest-waiting tower spent in the gradient all-reduce beyond the
   * waited-for tower's own time there (0..1): waiting for the slowest tower, not for the network.
   */
  public double slowestTowerWait() {
    return imbalanceShare.getPercentile(50);
  }

  /** The median wall time of a step at the coordinator, in milliseconds. */
  public double medianMillis() {
    return wall.getPercentile(50);
  }

  /** The {@code percentile} (0..100] of the steps' wall times, in milliseconds. */
  public double percentileMillis(final double percentile) {
    return wall.getPercentile(percentile);
  }

  /** The median of one phase over the steps, in milliseconds. */
  public double medianMillis(final Phase phase) {
    return phases[phase.ordinal()].getPercentile(50);
  }

  /** The mean of one phase over the steps, in milliseconds. */
  public double meanMillis(final Phase phase) {
    return phases[phase.ordinal()].getMean();
  }

  /** The mean wall time of a step, in milliseconds (the phases' means add up to it). */
  public double meanMillis() {
    return wall.getMean();
  }

  /** Every step's wall time in milliseconds, in step order (a copy). */
  public double[] wallMillis() {
    return wall.getValues();
  }

  /**
   * Mean forward + backward compute per sample of the tower the steps waited for, in milliseconds;
   * NaN when it had no samples.
   */
  public double computeMillisPerSample() {
    final double perStep = meanMillis(Phase.FORWARD) + meanMillis(Phase.BACKWARD);
    return samples.getMean() > 0 ? perStep / samples.getMean() : Double.NaN;
  }

  /** One line for the run log. */
  public String summary() {
    if (wall.getN() == 0) {
      return "no steps timed";
    }
    return String.format(
        Locale.ROOT,
        "step time over %d steps: median %.1f ms (p95 %.1f) = data wait %.1f + forward %.1f +"
            + " backward %.1f + BN-statistic all-reduce %.1f + gradient all-reduce %.1f +"
            + " optimizer %.1f + idle %.1f (medians, the tower each step waited for); exposed"
            + " communication %.1f%% of the step; the other towers waited %.1f%% of it for the"
            + " slowest",
        wall.getN(),
        wall.getPercentile(50),
        wall.getPercentile(95),
        medianMillis(Phase.DATA_WAIT),
        medianMillis(Phase.FORWARD),
        medianMillis(Phase.BACKWARD),
        medianMillis(Phase.BN_REDUCE),
        medianMillis(Phase.ALL_REDUCE),
        medianMillis(Phase.OPTIMIZER),
        medianMillis(Phase.IDLE),
        100 * exposedCommunication(),
        100 * slowestTowerWait());
  }
}
