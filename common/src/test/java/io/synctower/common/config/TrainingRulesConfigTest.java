package io.synctower.common.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@code training.earlyStopping} and {@code training.reduceLrOnPlateau}: off by default, Keras's
 * defaults otherwise, {@code mode: auto} by the monitor's name, every wrong value named with its
 * key and the fix, and the resolved config reading back into the same rules.
 */
class TrainingRulesConfigTest {
  private static final String VALID =
      """
      model:
        layers:
          - {type: flatten}
          - {type: dense, units: 10}
      data:
        train: {type: overfit, size: 10}
      training:
        batchSize: 8
      """;

  private static RunConfig parse(final String text) {
    return ConfigLoader.parse(text, "test.yaml", Map.of());
  }

  private static void assertOneProblemContaining(final String text, final String... parts) {
    final List<String> problems = assertThrows(ConfigException.class, () -> parse(text)).problems();
    assertEquals(1, problems.size(), problems.toString());
    for (final String part : parts) {
      assertTrue(problems.get(0).contains(part), () -> "'" + part + "' missing in " + problems);
    }
  }

  @Test
  void bothAreOffByDefaultWithKerasDefaults() {
    final RunConfig.Training t = parse(VALID).training();
    assertFalse(t.earlyStopping().enabled());
    assertFalse(t.reduceLrOnPlateau().enabled());
    assertEquals(
        new RunConfig.EarlyStopping(RunConfig.Monitor.VAL_LOSS, 0, 0.0, true), t.earlyStopping());
    assertEquals(
        new RunConfig.ReduceLrOnPlateau(RunConfig.Monitor.VAL_LOSS, 0, 0.1, 0.0, 0, 0.0, true),
        t.reduceLrOnPlateau());
  }

  @Test
  void givenValuesAreReadAndTheResolvedConfigReadsBack() {
    final RunConfig c =
        parse(
            VALID
                + "  earlyStopping: {monitor: VAL_ACC, patience: 3, minDelta: 0.01}\n"
                + "  reduceLrOnPlateau: {monitor: train_loss, patience: 2, factor: 0.5,"
                + " minDelta: 0.001, cooldown: 1, minLr: 1e-5, mode: max}\n");
    final RunConfig.Training t = c.training();
    assertEquals(
        new RunConfig.EarlyStopping(RunConfig.Monitor.VAL_ACC, 3, 0.01, false), t.earlyStopping());
    assertEquals(
        new RunConfig.ReduceLrOnPlateau(
            RunConfig.Monitor.TRAIN_LOSS, 2, 0.5, 0.001, 1, 1e-5, false),
        t.reduceLrOnPlateau());
    final RunConfig back = parse(ConfigLoader.toYaml(c));
    assertEquals(t.earlyStopping(), back.training().earlyStopping());
    assertEquals(t.reduceLrOnPlateau(), back.training().reduceLrOnPlateau());
  }

  @Test
  void modeAutoMinimizesLossesAndMaximizesAccuracies() {
    for (final RunConfig.Monitor m : RunConfig.Monitor.values()) {
      final RunConfig.EarlyStopping e =
          parse(VALID + "  earlyStopping: {monitor: " + m.column() + ", patience: 1}\n")
              .training()
              .earlyStopping();
      assertEquals(m.column().endsWith("loss"), e.minimize(), m.column());
    }
  }

  @Test
  void wrongValuesNameKeyValueAndFix() {
    assertOneProblemContaining(
        VALID + "  earlyStopping: {monitor: val_los, patience: 2}\n",
        "training.earlyStopping.monitor",
        "'val_los'",
        "val_loss");
    assertOneProblemContaining(
        VALID + "  earlyStopping: {patience: -1}\n",
        "training.earlyStopping.patience",
        "-1 is out of range");
    assertOneProblemContaining(
        VALID + "  earlyStopping: {patience: 2, mode: lower}\n",
        "training.earlyStopping.mode",
        "'lower'",
        "[auto, max, min]");
    assertOneProblemContaining(
        VALID + "  earlyStopping: {patience: 2, minDelta: -0.1}\n",
        "training.earlyStopping.minDelta",
        "-0.1 is out of range");
    assertOneProblemContaining(
        VALID + "  reduceLrOnPlateau: {patience: 2, factor: 1}\n",
        "training.reduceLrOnPlateau.factor",
        "1.0",
        "between 0 and 1");
    assertOneProblemContaining(
        VALID + "  reduceLrOnPlateau: {patience: 2, factor: 0}\n",
        "training.reduceLrOnPlateau.factor",
        "between 0 and 1");
    assertOneProblemContaining(
        VALID + "  reduceLrOnPlateau: {patience: 2, factor: 2}\n",
        "training.reduceLrOnPlateau.factor",
        "2.0 is out of range");
    assertOneProblemContaining(
        VALID + "  reduceLrOnPlateau: {patience: 2, cooldown: -1}\n",
        "training.reduceLrOnPlateau.cooldown",
        "-1 is out of range");
    assertOneProblemContaining(
        VALID + "  reduceLrOnPlateau: {patience: 2, minLr: -1}\n",
        "training.reduceLrOnPlateau.minLr",
        "-1.0 is out of range");
    assertOneProblemContaining(
        VALID + "  reduceLrOnPlateau: {patience: 2, factr: 0.5}\n",
        "training.reduceLrOnPlateau.factr",
        "unknown key",
        "'factor'");
  }
}
