package io.synctower.coordinator.train;

import io.synctower.common.protocol.Report;
import java.util.List;
import java.util.Locale;
import org.apache.commons.math3.stat.descriptive.DescriptiveStatistics;

/**
 * Where the time of a step goes, from the coordinator's view (send to last report) and the towers'
 * own timings. Per step, each phase is the slowest tower's, since the step waits for it; the
 * all-reduce time includes waiting for the slowest tower to arrive, which is what communication
 * costs a step when it is not hidden behind compute ("exposed").
 */
public final class StepTimings {
  private final DescriptiveStatistics wall = new DescriptiveStatistics();
  private final DescriptiveStatistics dataWait = new DescriptiveStatistics();
  private final DescriptiveStatistics forward = new DescriptiveStatistics();
  private final DescriptiveStatistics backward = new DescriptiveStatistics();
  private final DescriptiveStatistics allReduce = new DescriptiveStatistics();
  private final DescriptiveStatistics optimizer = new DescriptiveStatistics();
  private final DescriptiveStatistics allReduceShare = new DescriptiveStatistics();

  /** Adds one step: its wall time at the coordinator and every tower's report. */
  public void add(final long wallNanos, final List<Report> round) {
    long d = 0;
    long f = 0;
    long b = 0;
    long a = 0;
    long o = 0;
    for (final Report r : round) {
      final Report.StepDone s = (Report.StepDone) r;
      d = Math.max(d, s.dataWaitNanos());
      f = Math.max(f, s.forwardNanos());
      b = Math.max(b, s.backwardNanos());
      a = Math.max(a, s.allReduceNanos());
      o = Math.max(o, s.optimizerNanos());
    }
    wall.addValue(wallNanos / 1e6);
    dataWait.addValue(d / 1e6);
    forward.addValue(f / 1e6);
    backward.addValue(b / 1e6);
    allReduce.addValue(a / 1e6);
    optimizer.addValue(o / 1e6);
    allReduceShare.addValue(wallNanos > 0 ? (double) a / wallNanos : 0);
  }

  public long steps() {
    return wall.getN();
  }

  /** Median share of the step spent in the gradient all-reduce (0..1). */
  public double exposedCommunication() {
    return allReduceShare.getPercentile(50);
  }

  public double medianMillis() {
    return wall.getPercentile(50);
  }

  /** One line for the run log. */
  public String summary() {
    if (wall.getN() == 0) {
      return "no steps timed";
    }
    return String.format(
        Locale.ROOT,
        "step time over %d steps: median %.1f ms (p95 %.1f) = data wait %.1f + forward %.1f +"
            + " backward %.1f + gradient all-reduce %.1f + optimizer %.1f (medians, slowest"
            + " tower); exposed communication %.1f%% of the step",
        wall.getN(),
        wall.getPercentile(50),
        wall.getPercentile(95),
        dataWait.getPercentile(50),
        forward.getPercentile(50),
        backward.getPercentile(50),
        allReduce.getPercentile(50),
        optimizer.getPercentile(50),
        100 * exposedCommunication());
  }
}
