package io.synctower.coordinator.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import io.synctower.common.data.NpyArray;
import io.synctower.common.data.Npz;
import io.synctower.common.nn.LayerNames;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The fine-tuning round trip the name-prefix tests share: train a config 3 steps and export its
 * weights, then train it again with another seed, loading ({@code --init-layers}) and freezing
 * ({@code model.frozen}) the same layer names or prefixes, and export again.
 *
 * @param finetune the second run (its log says how many tensors it loaded)
 * @param before the first run's export
 * @param after the second run's export
 */
record LoadAndFreeze(
    List<String> selected,
    CliRun finetune,
    Map<String, NpyArray> before,
    Map<String, NpyArray> after) {

  /** Runs both trainings in {@code dir} (run directories {@code a} and {@code b}). */
  static LoadAndFreeze run(final Path dir, final String yaml, final List<String> selected)
      throws IOException {
    final Path config = dir.resolve("c.yaml");
    Files.writeString(config, yaml);
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
            String.join(",", selected),
            "--set",
            "model.frozen=[" + String.join(", ", selected) + "]",
            "--export-weights",
            finetuned.toString());
    assertEquals(0, finetune.code(), finetune.all());
    return new LoadAndFreeze(selected, finetune, Npz.read(pretrained), Npz.read(finetuned));
  }

  /**
   * Every tensor of a selected layer came through fine-tuning bit-identical (loaded, then frozen);
   * every other one changed (another seed, neither loaded nor trained from the same start).
   */
  void assertOnlySelectedLayersKept() {
    for (final String key : before.keySet()) {
      if (LayerNames.matchesAny(LayerNames.layerOf(key), selected)) {
        assertEquals(before.get(key), after.get(key), key + ": loaded and frozen");
      } else if (!key.endsWith("num_batches_tracked")) {
        assertNotEquals(before.get(key), after.get(key), key + ": neither loaded nor frozen");
      }
    }
  }
}
