package io.synctower.coordinator.towers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.synctower.common.backend.NativeThreads;
import io.synctower.common.config.ConfigLoader;
import io.synctower.common.config.RunConfig;
import io.synctower.common.protocol.Command;
import io.synctower.worker.assembly.Replicas;
import io.synctower.worker.assembly.TrainingData;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Towers as threads share the cores: each tower thread runs its ops on {@code cores / N} OpenMP
 * threads (read back from libgomp inside the tower thread), OpenBLAS runs on the share while the
 * towers live and gets its count back after.
 */
class CoreShareTest {
  private static final String CONFIG =
      """
      name: share
      seed: 3
      model:
        dtype: float64
        layers:
          - {type: conv2d, filters: 4, kernel: 3, stride: 2, bias: false}
          - {type: batchnorm}
          - {type: relu}
          - {type: flatten}
          - {type: dense, units: 16}
      data:
        train: {type: overfit, size: 16}
        validation: {type: overfit, size: 16}
      training:
        epochs: 1
        batchSize: 8
        optimizer: {type: sgd, lr: 0.1}
      bn:
        sync: true
      """;

  @TempDir Path dir;

  @ParameterizedTest(name = "{0} towers")
  @ValueSource(ints = {1, 2, 3, 5})
  void everyTowerThreadRunsOnItsShareOfTheCores(final int n) throws Exception {
    assumeTrue(NativeThreads.cpuBackend(), "thread counts are a CPU-backend setting");
    assumeFalse(NativeThreads.userSet(), "OMP_NUM_THREADS set: the user's count wins");
    final RunConfig config =
        ConfigLoader.parse(CONFIG, "share", Map.of("towers", Integer.toString(n)));
    final TrainingData data = TrainingData.load(config, dir);
    final int share = NativeThreads.share(Runtime.getRuntime().availableProcessors(), n);
    final int blasBefore = NativeThreads.blas();
    try (InProcessTowers towers =
        new InProcessTowers(
            7,
            config,
            () -> Replicas.newModel(config, data),
            data.train(),
            data.validation(),
            data.normalization())) {
      towers.send(new Command.TrainStep(7, 0, 0, 0, 0.1, false));
      towers.collect(); // after a step: every thread has started and answered
      for (int r = 0; r < n; r++) {
        assertEquals(share, towers.nativeThreads(r), "OpenMP threads of tower " + r);
      }
      assertEquals(share, NativeThreads.blas(), "OpenBLAS threads while the towers run");
    }
    assertEquals(blasBefore, NativeThreads.blas(), "OpenBLAS threads after close");
  }
}
