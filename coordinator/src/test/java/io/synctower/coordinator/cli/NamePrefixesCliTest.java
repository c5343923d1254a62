package io.synctower.coordinator.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A torchvision-named backbone loaded by prefix ({@code --init-layers layer1}) and frozen by prefix
 * ({@code model.frozen}), on the command line: seed 002's workflow in one line each.
 */
class NamePrefixesCliTest {
  private static final String CONFIG =
      """
      name: prefixes
      seed: 3
      model:
        dtype: float64
        layers:
          - {type: conv2d, name: conv1, filters: 3, kernel: 3, padding: same}
          - {type: batchnorm, name: bn1}
          - {type: relu, name: relu}
          - {type: conv2d, name: layer1.0.conv1, filters: 3, kernel: 3, padding: same}
          - {type: batchnorm, name: layer1.0.bn1}
          - {type: relu, name: layer1.0.relu}
          - {type: conv2d, name: layer10.0.conv1, filters: 3, kernel: 3, padding: same}
          - {type: batchnorm, name: layer10.0.bn1}
          - {type: flatten, name: flatten}
          - {type: dense, name: fc, units: 16}
      data:
        train: {type: overfit, size: 16}
        validationSplit: 0
      training:
        batchSize: 8
        optimizer: {type: sgd, lr: 0.1}
      """;

  @TempDir Path dir;

  @Test
  void loadsAndFreezesEveryLayerUnderAPrefixAndNothingBeyondADotBoundary() throws Exception {
    final LoadAndFreeze r = LoadAndFreeze.run(dir, CONFIG, List.of("conv1", "bn1", "layer1"));
    assertTrue(r.finetune().out().contains("12 tensors loaded"), r.finetune().all());
    assertTrue(
        Files.readString(dir.resolve("b/config.yaml"))
            .contains("frozen:\n  - conv1\n  - bn1\n  - layer1"),
        Files.readString(dir.resolve("b/config.yaml")));

    // layer10 is outside the prefix layer1: neither loaded nor frozen.
    r.assertOnlySelectedLayersKept();
  }

  @Test
  void anInitLayersPrefixThatSelectsNothingListsTheTopLevelNames() throws Exception {
    final Path config = dir.resolve("c.yaml");
    Files.writeString(config, CONFIG);
    final CliRun r =
        CliRun.train(
            config,
            dir.resolve("a"),
            "--init-weights",
            dir.resolve("w.npz").toString(),
            "--init-layers",
            "layer1,layer2");
    assertEquals(2, r.code(), r.all());
    assertTrue(r.err().contains("--init-layers layer1,layer2"), r.all());
    assertTrue(r.err().contains("layer2 (did you mean layer1?)"), r.all());
    assertTrue(r.err().contains("[conv1, bn1, relu, layer1, layer10, flatten, fc]"), r.all());
  }
}
