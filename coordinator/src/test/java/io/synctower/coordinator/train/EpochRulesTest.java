package io.synctower.coordinator.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.config.ConfigLoader;
import io.synctower.common.config.RunConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Early stopping and reduce-LR-on-plateau on hand-computed sequences of monitored values: the
 * decisions Keras's callbacks make on the same sequences (patience, minDelta, mode, cooldown,
 * minLr), the values taken as metrics.csv holds them, and a replay of the rows reaching the same
 * state as the live decisions.
 */
class EpochRulesTest {
  private static RunConfig.Training training(final String rules) {
    final String yaml =
        """
        model:
          layers:
            - {type: flatten}
            - {type: dense, units: 2}
        data:
          train: {type: overfit, size: 8}
        training:
          batchSize: 4
          optimizer: {type: sgd, lr: 0.1}
        """
            + rules;
    return ConfigLoader.parse(yaml, "test.yaml", Map.of()).training();
  }

  /** A row whose monitored columns (train_loss, val_loss, val_acc) all hold {@code value}. */
  private static EpochRecord row(final int epoch, final double value, final double lr) {
    return new EpochRecord(epoch, epoch * 10L, value, 0.5, 0.5, value, value, 0.5, lr, 100.0, 1.0);
  }

  /** The epochs after which each rule acted on {@code values} (1-based), with lr 0.1 rows. */
  private static List<Integer> stops(final EpochRules rules, final double... values) {
    final List<Integer> stoppedAfter = new ArrayList<>();
    for (int e = 1; e <= values.length && !rules.stopped(); e++) {
      if (rules.afterEpoch(row(e, values[e - 1], 0.1)).stop()) {
        stoppedAfter.add(e);
      }
    }
    return stoppedAfter;
  }

  @Test
  void earlyStoppingStopsAfterPatienceEpochsWithoutImprovement() {
    final EpochRules rules =
        new EpochRules(training("  earlyStopping: {monitor: val_loss, patience: 2}\n"));
    // best 0.8 at epoch 2; 0.9 and 0.8 (equal is no improvement) make two epochs without one.
    assertEquals(List.of(4), stops(rules, 1.0, 0.8, 0.9, 0.8, 0.1, 0.1));
    assertTrue(rules.stopped());
    final String line = rules.summary(java.nio.file.Path.of("/runs/r/best"));
    assertTrue(line.contains("stopped after epoch 4"), line);
    assertTrue(line.contains("best val_loss 0.800000 at epoch 2 (step 20)"), line);
    assertTrue(line.contains("/runs/r/best"), line);
  }

  @Test
  void anImprovementResetsThePatience() {
    final EpochRules rules =
        new EpochRules(training("  earlyStopping: {monitor: val_loss, patience: 2}\n"));
    // 1.1 waits one epoch, 0.9 resets, 0.95 waits, 0.89 resets, 0.91 and 0.92 run it out.
    assertEquals(List.of(7), stops(rules, 1.0, 1.1, 0.9, 0.95, 0.89, 0.91, 0.92, 0.1));
  }

  @Test
  void minDeltaIsTheMarginAnImprovementMustExceed() {
    final EpochRules rules =
        new EpochRules(
            training("  earlyStopping: {monitor: train_loss, patience: 2, minDelta: 0.1}\n"));
    // 0.85 beats 1.0 by more than 0.1 (best 0.85); 0.76 beats it by 0.09 only; 0.75 by exactly
    // 0.1 only, which is no improvement either.
    assertEquals(List.of(4), stops(rules, 1.0, 0.85, 0.76, 0.75));
  }

  @Test
  void accuracyIsMaximizedUnderAutoAndModeMinTurnsItAround() {
    final EpochRules auto =
        new EpochRules(training("  earlyStopping: {monitor: val_acc, patience: 1}\n"));
    assertEquals(List.of(3), stops(auto, 0.5, 0.6, 0.55));
    final EpochRules min =
        new EpochRules(training("  earlyStopping: {monitor: val_acc, patience: 1, mode: min}\n"));
    assertEquals(List.of(2), stops(min, 0.5, 0.6, 0.55));
  }

  @Test
  void nanNeverImproves() {
    final EpochRules rules =
        new EpochRules(training("  earlyStopping: {monitor: train_loss, patience: 2}\n"));
    assertEquals(List.of(3), stops(rules, 1.0, Double.NaN, Double.NaN));
  }

  @Test
  void decisionsUseTheSixDigitsOfMetricsCsv() {
    final EpochRules rules =
        new EpochRules(training("  earlyStopping: {monitor: train_loss, patience: 1}\n"));
    assertFalse(rules.afterEpoch(row(1, 1.0, 0.1)).stop());
    // 0.9999999 < 1.0, but metrics.csv holds it as 1.00000: no improvement, so the run stops.
    assertTrue(rules.afterEpoch(row(2, 0.9999999, 0.1)).stop());
  }

  @Test
  void thePlateauMultipliesTheLearningRateAfterPatienceThenCoolsDown() {
    final EpochRules rules =
        new EpochRules(
            training(
                "  reduceLrOnPlateau: {monitor: val_loss, patience: 2, factor: 0.5, cooldown:"
                    + " 1}\n"));
    final double[] values = {1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.6, 0.6};
    // Keras's ReduceLROnPlateau on the same values: wait 0,1,2 -> reduce after epoch 3 (cooldown
    // 1); epoch 4 ends the cooldown (wait reset to 0, then counts: 1); epoch 5: 2 -> reduce
    // again; epoch 6 improves; epochs 7, 8: wait 1, 2 -> reduce.
    final List<Double> factors = new ArrayList<>();
    final List<Integer> reducedAfter = new ArrayList<>();
    for (int e = 1; e <= values.length; e++) {
      final EpochRules.Outcome o = rules.afterEpoch(row(e, values[e - 1], rules.learningRate(0.1)));
      if (!o.lines().isEmpty()) {
        reducedAfter.add(e);
      }
      factors.add(rules.lrFactor());
    }
    assertEquals(List.of(3, 5, 8), reducedAfter);
    assertEquals(List.of(1.0, 1.0, 0.5, 0.5, 0.25, 0.25, 0.25, 0.125), factors);
    assertEquals(0.1 * 0.125, rules.learningRate(0.1));
    assertFalse(rules.stopped(), "the plateau never stops a run");
  }

  @Test
  void aReductionNeverGoesBelowMinLrAndStopsThere() {
    final EpochRules rules =
        new EpochRules(
            training(
                "  reduceLrOnPlateau: {monitor: train_loss, patience: 1, factor: 0.5, minLr:"
                    + " 0.03}\n"));
    final List<Double> lrs = new ArrayList<>();
    for (int e = 1; e <= 5; e++) {
      final double lr = rules.learningRate(0.1);
      lrs.add(lr);
      rules.afterEpoch(row(e, 1.0, lr));
    }
    // 0.1, 0.1 -> x0.5; 0.05 -> x0.25 = 0.025, floored at 0.03; at minLr no further reduction.
    assertEquals(List.of(0.1, 0.1, 0.05, 0.03, 0.03), lrs);
    assertEquals(0.25, rules.lrFactor());
    // Where the schedule alone is below minLr, the schedule's rate is used.
    assertEquals(0.01, rules.learningRate(0.01));
  }

  @Test
  void offRulesChangeNothing() {
    final EpochRules rules = new EpochRules(training(""));
    assertEquals(List.of(), stops(rules, 1.0, 2.0, 3.0, 4.0));
    assertEquals(0.1, rules.learningRate(0.1));
    assertEquals(null, rules.summary(null));
  }

  @Test
  void replayingTheRowsReachesTheLiveState() {
    final RunConfig.Training t =
        training(
            "  earlyStopping: {monitor: val_loss, patience: 3}\n"
                + "  reduceLrOnPlateau: {monitor: val_loss, patience: 1, factor: 0.5}\n");
    final EpochRules live = new EpochRules(t);
    final List<EpochRecord> rows = new ArrayList<>();
    final double[] values = {1.0, 0.9, 0.95, 0.97};
    for (int e = 1; e <= values.length; e++) {
      final EpochRecord r = row(e, values[e - 1], live.learningRate(0.1));
      rows.add(EpochRecord.parseCsv(r.csv()));
      live.afterEpoch(r);
    }
    final EpochRules resumed = new EpochRules(t);
    resumed.replay(rows);
    assertEquals(0.25, live.lrFactor());
    assertEquals(live.lrFactor(), resumed.lrFactor());
    assertEquals(live.summary(null), resumed.summary(null));
    // Both stop after the same next epoch (the third without an improvement on 0.9).
    assertTrue(live.afterEpoch(row(5, 0.96, 0.025)).stop());
    assertTrue(resumed.afterEpoch(row(5, 0.96, 0.025)).stop());
  }
}
