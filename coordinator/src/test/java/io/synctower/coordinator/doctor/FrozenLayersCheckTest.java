package io.synctower.coordinator.doctor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.config.ConfigLoader;
import io.synctower.common.config.RunConfig;
import io.synctower.common.nn.Model;
import io.synctower.worker.assembly.Replicas;
import io.synctower.worker.assembly.TrainingData;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Frozen backbones: trainable BN layers inside them, and frozen BN layers nothing was loaded into.
 */
class FrozenLayersCheckTest {
  private static final TrainingData DATA = new TrainingData(new Blobs(16), null, null);

  private static Finding examine(
      final String layers, final java.util.function.Consumer<Model> change) {
    final RunConfig c =
        ConfigLoader.parse(
            """
            model:
              dtype: float64
              layers:
            %s
            data:
              train: {type: overfit, size: 16}
            training:
              batchSize: 8
              optimizer: {type: sgd, lr: 0.1}
            """
                .formatted(layers.indent(4)),
            "frozen",
            Map.of());
    final Model model = Replicas.newModel(c, DATA);
    change.accept(model);
    return new FrozenLayersCheck()
        .examine(new Evidence(c, model, DATA, List.of(), 8, Progress.NONE));
  }

  private static final String BACKBONE_WITH_TRAINABLE_BN =
      """
      - {type: conv2d, filters: 2, kernel: 2, trainable: false}
      - {type: batchnorm}
      - {type: relu}
      - {type: conv2d, filters: 2, kernel: 2, trainable: false}
      - {type: batchnorm}
      - {type: relu}
      - {type: flatten}
      - {type: dense, units: 4}
      """;

  @Test
  void aTrainableBnInsideAFrozenBackboneIsNamedWithTheFix() {
    final Finding f = examine(BACKBONE_WITH_TRAINABLE_BN, m -> {});
    assertEquals(Severity.WARN, f.severity());
    // bn1 sits between the frozen conv1 and conv2; bn2 follows the last frozen layer (the head).
    assertTrue(
        f.measured().startsWith("bn1 trainable inside a frozen backbone (conv1, conv2 frozen)"),
        f.measured());
    assertEquals(
        "set trainable: false on bn1 (or add them to model.frozen: a preset's layers take no"
            + " per-layer keys)",
        f.fix());
  }

  @Test
  void aFrozenBnWithItsInitialStatisticsIsAProblemNamingTheLayersToLoad() {
    final String frozen =
        """
        - {type: conv2d, filters: 2, kernel: 2, trainable: false}
        - {type: batchnorm, trainable: false}
        - {type: relu}
        - {type: flatten}
        - {type: dense, units: 4}
        """;
    final Finding never = examine(frozen, m -> {});
    assertEquals(Severity.PROBLEM, never.severity());
    assertTrue(never.measured().startsWith("bn1 frozen"), never.measured());
    assertTrue(never.fix().contains("--init-layers conv1,bn1"), never.fix());

    final Finding loaded = examine(frozen, m -> m.tensor("bn1.running_mean").assign(0.3));
    assertEquals(Severity.OK, loaded.severity(), loaded.toString());
  }

  @Test
  void aModelWithoutFrozenLayersIsOk() {
    final Finding f =
        examine(BACKBONE_WITH_TRAINABLE_BN.replace(", trainable: false", ""), m -> {});
    assertEquals(Severity.OK, f.severity());
    assertEquals("no frozen layer", f.measured());
  }
}
