package io.synctower.coordinator.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.config.ConfigException;
import io.synctower.common.config.ConfigLoader;
import io.synctower.common.config.RunConfig;
import io.synctower.common.nn.Model;
import io.synctower.coordinator.towers.Towers;
import io.synctower.worker.assembly.TrainingData;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Initial weights go into every tower through {@link Towers#loadWeightsFrom}: in-process towers all
 * take the coordinator replica's weights; towers that cannot take them refuse with the
 * --init-weights error.
 */
class InitialWeightsTest {
  private static final String CONFIG =
      """
      name: init
      towers: 3
      model:
        dtype: float64
        layers:
          - {type: conv2d, filters: 2, kernel: 3, stride: 2}
          - {type: batchnorm}
          - {type: relu}
          - {type: flatten}
          - {type: dense, units: 16}
      data:
        train: {type: overfit, size: 6}
      training:
        batchSize: 3
        optimizer: {type: sgd, lr: 0.1}
      """;

  @TempDir Path dir;

  @Test
  void everyTowerTakesTheChangedWeights() throws Exception {
    final RunConfig config = ConfigLoader.parse(CONFIG, "init", Map.of());
    try (Trainer trainer =
        new Trainer(
            config,
            TrainingData.load(config, dir),
            new Trainer.Options(null, false, new PrintStream(OutputStream.nullOutputStream())))) {
      final double[] seeded = trainer.model(1).parameters().toDoubleVector();
      final String result =
          trainer.initializeReplicas(
              m -> {
                m.parameters().assign(0.25);
                m.state().assign(2.0);
                return "changed";
              });
      assertEquals("changed", result);
      assertNotEquals(0.25, seeded[0]);
      for (int rank = 0; rank < 3; rank++) {
        final Model replica = trainer.model(rank);
        for (final double v : replica.parameters().toDoubleVector()) {
          assertEquals(0.25, v, 0.0, "tower " + rank);
        }
        assertArrayEquals(
            trainer.model().state().toDoubleVector(),
            replica.state().toDoubleVector(),
            0.0,
            "tower " + rank);
      }
    }
  }

  @Test
  void towersThatCannotTakeWeightsRefuseWithTheInitWeightsError() {
    final Towers remote =
        (Towers)
            java.lang.reflect.Proxy.newProxyInstance(
                Towers.class.getClassLoader(),
                new Class<?>[] {Towers.class},
                (proxy, method, args) -> {
                  if (method.getName().equals("loadWeightsFrom")) {
                    throw new UnsupportedOperationException("not here");
                  }
                  throw new AssertionError(method.getName());
                });
    final ConfigException e =
        assertThrows(ConfigException.class, () -> InitialWeights.apply(m -> null, null, remote));
    assertTrue(e.getMessage().contains("--init-weights"), e.getMessage());
    assertTrue(
        e.getMessage().contains("initial weights are not supported with worker processes yet"),
        e.getMessage());
  }
}
