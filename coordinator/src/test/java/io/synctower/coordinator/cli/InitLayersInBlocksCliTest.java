package io.synctower.coordinator.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.data.NpyArray;
import io.synctower.common.data.Npz;
import io.synctower.common.nn.LayerNames;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
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
    final Path config = dir.resolve("c.yaml");
    Files.writeString(config, CONFIG);
    final Path pretrained = dir.resolve("pretrained.npz");
    final CliRun pretrain =
        CliRun.train(
            config, dir.resolve("a"), "--steps", "3", "--export-weights", pretrained.toString());
    assertEquals(0, pretrain.code(), pretrain.all());

    final Path finetuned = dir.resolve("finetuned.npz");
    final CliRun finetune =
        CliRun.train(
            config,
            dir.resolve("b"),
            "--seed",
            "4",
            "--steps",
            "3",
            "--init-weights",
            pretrained.toString(),
            "--init-layers",
            String.join(",", INNER),
            "--set",
            "model.frozen=[" + String.join(", ", INNER) + "]",
            "--export-weights",
            finetuned.toString());
    assertEquals(0, finetune.code(), finetune.all());
    // layer1.0.conv1's weight and bias, layer1.0.downsample.1's four tensors.
    assertTrue(finetune.out().contains("6 tensors loaded"), finetune.all());

    final Map<String, NpyArray> before = Npz.read(pretrained);
    final Map<String, NpyArray> after = Npz.read(finetuned);
    for (final String key : before.keySet()) {
      if (LayerNames.matchesAny(LayerNames.layerOf(key), INNER)) {
        assertEquals(before.get(key), after.get(key), key + ": loaded and frozen");
      } else if (!key.endsWith("num_batches_tracked")) {
        // Another seed, neither loaded nor frozen: the block's other layers included.
        assertNotEquals(before.get(key), after.get(key), key + ": neither loaded nor frozen");
      }
    }
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
