package io.synctower.coordinator.experiments;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.config.ConfigException;
import io.synctower.common.config.ConfigLoader;
import io.synctower.common.config.RunConfig;
import io.synctower.common.metrics.MetricSums;
import io.synctower.common.metrics.PhaseTimes;
import io.synctower.common.protocol.Report;
import io.synctower.coordinator.train.StepTimings;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Batch sizes, runs and efficiency of strong and weak sweeps, against hand-computed values. */
class ScalingArithmeticTest {
  private static RunConfig config(final int batch, final boolean allowEmpty) {
    return ConfigLoader.parse(
        """
        model:
          layers: [{type: flatten}, {type: dense, units: 3}]
        data:
          train: {type: overfit, size: 24}
        """,
        "test",
        Map.of(
            "training.batchSize",
            Integer.toString(batch),
            "training.allowEmptyShards",
            Boolean.toString(allowEmpty),
            "towers",
            "1"));
  }

  @Test
  void shouldKeepTheGlobalBatchInStrongModeAndThePerTowerBatchInWeakMode() {
    final ScalePlan strong =
        new ScalePlan(List.of(1, 3), List.of(BnMode.SYNC, BnMode.LOCAL), ScalingMode.STRONG, 8, 2);
    final List<ScalePlan.Run> runs = strong.runs(64);
    assertEquals(4, runs.size());
    assertEquals(List.of(64, 64, 64, 64), runs.stream().map(ScalePlan.Run::globalBatch).toList());
    assertEquals(64 / 3.0, runs.get(2).towerBatch(), 1e-12);
    assertEquals("towers-3-local", runs.get(3).directoryName());
    final ScalePlan weak =
        new ScalePlan(List.of(1, 2, 8), List.of(BnMode.SYNC), ScalingMode.WEAK, 8, 2);
    assertEquals(
        List.of(32, 64, 256), weak.runs(32).stream().map(ScalePlan.Run::globalBatch).toList());
  }

  @Test
  void shouldOverrideTowersBnBatchAndEnoughEpochsForEveryStep() {
    final ScalePlan weak = new ScalePlan(List.of(4), List.of(BnMode.SYNC), ScalingMode.WEAK, 10, 2);
    final ScalePlan.Run run = weak.runs(16).get(0);
    // 64 samples per step from 100: 1 batch per epoch, so 10 steps need 10 epochs.
    final Map<String, String> o = weak.overrides(run, 100);
    assertEquals("4", o.get("towers"));
    assertEquals("true", o.get("bn.sync"));
    assertEquals("64", o.get("training.batchSize"));
    assertEquals("10", o.get("training.steps"));
    assertEquals("10", o.get("training.epochs"));
    assertEquals("0", o.get("checkpoint.every.minutes"));
  }

  /** A step of {@code millis} ms on one tower that reports it all as compute. */
  private static StepTimings steps(final double millis, final int count) {
    final StepTimings t = new StepTimings();
    for (int i = 0; i < count; i++) {
      final long nanos = (long) (millis * 1e6);
      t.add(
          nanos,
          List.of(
              new Report.StepDone(
                  1,
                  0,
                  i,
                  new MetricSums(0, 0, 0, 8),
                  new PhaseTimes(0, nanos, 0, 0, 0, 0),
                  0,
                  false,
                  "")));
    }
    return t;
  }

  private static RunMeasurement measured(
      final ScalePlan.Run run, final double stepMillis, final double[] losses) {
    return new RunMeasurement(run, steps(stepMillis, 3), losses, 0.5, Double.NaN, Double.NaN, 1);
  }

  @Test
  void shouldComputeStrongScalingEfficiencyAsSpeedupOverTowers() {
    final ScalePlan plan =
        new ScalePlan(List.of(1, 2, 4), List.of(BnMode.SYNC), ScalingMode.STRONG, 5, 1);
    final List<ScalePlan.Run> runs = plan.runs(64);
    final List<ScalingRow> rows =
        ScalingTable.of(
            ScalingMode.STRONG,
            List.of(
                measured(runs.get(0), 100, new double[] {1}),
                measured(runs.get(1), 60, new double[] {1}),
                measured(runs.get(2), 50, new double[] {1})));
    assertEquals(640, rows.get(0).samplesPerSecond(), 1e-9);
    assertEquals(1.0, rows.get(0).efficiency(), 1e-12);
    // Same work: efficiency = T(1) / (N T(N)).
    assertEquals(100.0 / (2 * 60), rows.get(1).efficiency(), 1e-12);
    assertEquals(100.0 / (4 * 50), rows.get(2).efficiency(), 1e-12);
  }

  @Test
  void shouldComputeWeakScalingEfficiencyAsStepTimeRatio() {
    final ScalePlan plan =
        new ScalePlan(List.of(2, 4), List.of(BnMode.LOCAL), ScalingMode.WEAK, 5, 1);
    final List<ScalePlan.Run> runs = plan.runs(32);
    final List<ScalingRow> rows =
        ScalingTable.of(
            ScalingMode.WEAK,
            List.of(
                measured(runs.get(0), 100, new double[] {1}),
                measured(runs.get(1), 125, new double[] {1})));
    // N times the work: efficiency = T(N0) / T(N), with N0 = 2, the smallest count run.
    assertEquals(128 / 0.125, rows.get(1).samplesPerSecond(), 1e-9);
    assertEquals(100.0 / 125, rows.get(1).efficiency(), 1e-12);
  }

  @Test
  void shouldNameTheOptionTheValueAndTheFixForBadTowerLists() {
    for (final String bad : new String[] {"0", "1,x", "2,2", "", "1,-3"}) {
      final ConfigException e =
          assertThrows(ConfigException.class, () -> ScalePlan.parseTowers(bad), bad);
      assertTrue(e.getMessage().contains("--towers"), e.getMessage());
    }
    assertTrue(
        assertThrows(ConfigException.class, () -> ScalePlan.parseTowers("1,x"))
            .getMessage()
            .contains("'x' is not a whole number"));
    assertEquals(List.of(4, 1, 2), ScalePlan.parseTowers("4, 1,2"));
  }

  @Test
  void shouldRefuseMoreTowersThanTheGlobalBatchInStrongModeUnlessEmptyShardsAreAllowed() {
    final ScalePlan plan =
        new ScalePlan(List.of(1, 8), List.of(BnMode.SYNC), ScalingMode.STRONG, 5, 1);
    final List<String> problems = plan.problems(config(4, false));
    assertEquals(1, problems.size(), problems.toString());
    assertTrue(problems.get(0).startsWith("--towers 8:"), problems.get(0));
    assertTrue(problems.get(0).contains("allowEmptyShards"), problems.get(0));
    assertEquals(List.of(), plan.problems(config(4, true)));
    // Weak mode multiplies the batch: 8 towers of 4 is fine.
    assertEquals(
        List.of(),
        new ScalePlan(List.of(8), List.of(BnMode.SYNC), ScalingMode.WEAK, 5, 1)
            .problems(config(4, false)));
    final List<String> warm =
        new ScalePlan(List.of(1), List.of(BnMode.SYNC), ScalingMode.STRONG, 5, 5)
            .problems(config(4, false));
    assertTrue(warm.get(0).startsWith("--warmup 5"), warm.toString());
  }

  @Test
  void shouldSplitTheStepOfTheTowerItWaitedForSoThePhasesAddUpToTheWallTime() {
    final StepTimings t = new StepTimings();
    final List<Report> round = new ArrayList<>();
    // Tower 0 computes fast and waits in the all-reduce; tower 1 computes slowly: 1+2+3+4+5+6 = 21.
    round.add(
        new Report.StepDone(
            1,
            0,
            0,
            new MetricSums(0, 0, 0, 4),
            new PhaseTimes(0, 2_000_000, 2_000_000, 1_000_000, 9_000_000, 1_000_000),
            0,
            false,
            ""));
    round.add(
        new Report.StepDone(
            1,
            1,
            0,
            new MetricSums(0, 0, 0, 4),
            new PhaseTimes(1_000_000, 2_000_000, 3_000_000, 4_000_000, 5_000_000, 6_000_000),
            0,
            false,
            ""));
    t.add(25_000_000, round);
    assertEquals(1, t.medianMillis(StepTimings.Phase.DATA_WAIT), 1e-9);
    assertEquals(2, t.medianMillis(StepTimings.Phase.FORWARD), 1e-9);
    assertEquals(3, t.medianMillis(StepTimings.Phase.BACKWARD), 1e-9);
    assertEquals(4, t.medianMillis(StepTimings.Phase.BN_REDUCE), 1e-9);
    assertEquals(5, t.medianMillis(StepTimings.Phase.ALL_REDUCE), 1e-9);
    assertEquals(6, t.medianMillis(StepTimings.Phase.OPTIMIZER), 1e-9);
    assertEquals(25 - 21, t.medianMillis(StepTimings.Phase.IDLE), 1e-9);
    double sum = 0;
    for (final StepTimings.Phase p : StepTimings.Phase.values()) {
      sum += t.meanMillis(p);
    }
    assertEquals(t.meanMillis(), sum, 1e-9);
    assertEquals(5.0 / 4, t.computeMillisPerSample(), 1e-12);
    assertEquals(0, steps(10, 4).skipFirst(4).steps());
    assertEquals(2, steps(10, 4).skipFirst(2).steps());
    // Tower 0 sat 9 ms in the all-reduce, 4 ms longer than tower 1, which it waited for.
    assertEquals(4.0 / 25, t.slowestTowerWait(), 1e-12);
    assertEquals(5.0 / 25, t.exposedCommunication(), 1e-12);
  }

  private static Report.StepDone tower(final int rank, final PhaseTimes times) {
    return new Report.StepDone(1, rank, 0, new MetricSums(0, 0, 0, 4), times, 0, false, "");
  }

  @Test
  void theStepShouldWaitForTheTowerThatReachedTheAllReduceLastNotForTheOneThatWaitedLongest() {
    final StepTimings t = new StepTimings();
    // Tower 0 got the command first: 4 ms of compute, then 10.5 ms in the all-reduce waiting for
    // tower 1 (13 ms of compute, 1 ms of all-reduce). Tower 0's accounted time is the longer
    // (15.5 against 15 ms), but the step waited for tower 1.
    t.add(
        16_000_000,
        List.of(
            tower(0, new PhaseTimes(0, 2_000_000, 2_000_000, 0, 10_500_000, 1_000_000)),
            tower(1, new PhaseTimes(0, 5_000_000, 8_000_000, 0, 1_000_000, 1_000_000))));
    assertEquals(5, t.medianMillis(StepTimings.Phase.FORWARD), 1e-9);
    assertEquals(8, t.medianMillis(StepTimings.Phase.BACKWARD), 1e-9);
    assertEquals(1, t.medianMillis(StepTimings.Phase.ALL_REDUCE), 1e-9);
    assertEquals(1, t.medianMillis(StepTimings.Phase.IDLE), 1e-9); // 16 - 15
    assertEquals(1.0 / 16, t.exposedCommunication(), 1e-12);
    assertEquals(9.5 / 16, t.slowestTowerWait(), 1e-12);
    assertTrue(t.summary().contains("exposed communication 6.3% of the step"), t.summary());
    assertTrue(t.summary().contains("the other towers waited 59.4% of it for the slowest"));
  }

  @Test
  void theSteadyStateShouldStartWithTheFirstStepAfterTheGivenSecondsOfStepping() {
    // Five compiling steps of 400 ms (2 s), then ten of 10 ms.
    final StepTimings t = steps(400, 5);
    final StepTimings fast = steps(10, 10);
    for (final double wall : fast.wallMillis()) {
      t.add(
          (long) (wall * 1e6),
          List.of(
              new Report.StepDone(
                  1,
                  0,
                  0,
                  new MetricSums(0, 0, 0, 8),
                  new PhaseTimes(0, (long) (wall * 1e6), 0, 0, 0, 0),
                  0,
                  false,
                  "")));
    }
    // Steps 0-4 start before 2 s have passed, step 5 at exactly 2 s: the rest is steady.
    assertEquals(10, t.afterFirstSeconds(2).steps());
    assertEquals(10, t.afterFirstSeconds(2).medianMillis(), 1e-9);
    assertEquals(11, t.afterFirstSeconds(1.5).steps()); // step 4 starts at 1.6 s
    assertEquals(9, t.afterFirstSeconds(2.005).steps());
    assertEquals(15, t.afterFirstSeconds(0).steps());
    assertEquals(0, t.afterFirstSeconds(60).steps());
    assertEquals(15, t.steps(), "the whole run's timings are unchanged");
  }
}
