package io.synctower.coordinator.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --init-layers} and {@code model.frozen} name layers inside a residual block by the built
 * model's names ({@code layer1.0.conv1}, {@code layer1.0.downsample.1}), not only by the block's
 * name: the command line checks the entries against the flat layer list, as the import does.
 */
class InitLayersInBlocksCliTest {
  private static final String CONFIG =
      """
      name: blocks
      seed: 3
      model:
        dtype: float64
        layers:
          - {type: conv2d, name: conv1, filters: 3, kernel: 3, padding: same}
          - {type: batchnorm, name: bn1}
          - type: residual
            name: layer1.0
            layers:
              - {type: conv2d, filters: 3, kernel: 3, padding: same}
              - {type: batchnorm}
            shortcut:
              - {type: conv2d, filters: 3, kernel: 1}
              - {type: batchnorm}
          - {type: globalavgpool, name: avgpool}
          - {type: dense, name: fc, units: 16}
      data:
        train: {type: overfit, size: 16}
        validationSplit: 0
      training:
        batchSize: 8
        optimizer: {type: sgd, lr: 0.1}
      """;

  /** Layers inside the block: its main branch's first conv and its shortcut's BN. */
  private static final List<String> INNER = List.of("layer1.0.conv1", "layer1.0.downsample.1");

  @TempDir Path dir;

  @Test
  void loadsAndFreezesSingleLayersInsideABlockByTheirFullNames() throws Exception {
    final LoadAndFreeze r = LoadAndFreeze.run(dir, CONFIG, INNER);
    // layer1.0.conv1's weight and bias, layer1.0.downsample.1's four tensors.
    assertTrue(r.finetune().out().contains("6 tensors loaded"), r.finetune().all());
    // Another seed, neither loaded nor frozen: the block's other layers included.
    r.assertOnlySelectedLayersKept();
  }

  @Test
  void anInitLayersEntryInsideABlockThatSelectsNothingIsRefusedWithTheNearestName()
      throws Exception {
    final Path config = dir.resolve("c.yaml");
    Files.writeString(config, CONFIG);
    final CliRun r =
        CliRun.train(
            config,
            dir.resolve("a"),
            "--init-weights",
            dir.resolve("w.npz").toString(),
            "--init-layers",
            "layer1.0.conv1,layer1.0.conv9");
    assertEquals(2, r.code(), r.all());
    assertTrue(r.err().contains("layer1.0.conv9 (did you mean layer1.0.conv1?)"), r.all());
  }
}
