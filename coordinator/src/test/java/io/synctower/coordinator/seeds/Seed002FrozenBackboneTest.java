package io.synctower.coordinator.seeds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.config.ConfigLoader;
import io.synctower.common.config.RunConfig;
import io.synctower.common.data.BatchAssembler;
import io.synctower.common.data.NpyArray;
import io.synctower.common.data.Npz;
import io.synctower.common.nn.Model;
import io.synctower.common.nn.StepContext;
import io.synctower.coordinator.cli.CliRun;
import io.synctower.coordinator.train.EpochRecord;
import io.synctower.worker.assembly.Replicas;
import io.synctower.worker.assembly.TrainingData;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Seed 002 ({@code configs/seeds/002-frozen-backbone-*.yaml}), with the README's two commands:
 * pretrain and export a backbone, then fine-tune a new head on it with {@code --init-weights
 * --init-layers}, frozen. Shrunk with {@code --set} and {@code --steps}; like the report, the
 * fine-tuning run validates on its own training images, so any gap between training and validation
 * accuracy is BN's doing, not overfitting.
 */
class Seed002FrozenBackboneTest {
  static final List<String> BACKBONE = List.of("conv1", "bn1", "conv2", "bn2");

  /** The fine-tuning images, used for training and for validation (as in the report). */
  private static final String SAME_IMAGES =
      "{type: captcha, size: 640, seed: 2, height: 28, width: 72, length: 4, charset: digits,"
          + " noise: 0.6}";

  @TempDir Path dir;

  @Test
  void frozenBackboneStaysBitIdenticalNormalizesWithMovingStatisticsAndValidationMatchesTraining()
      throws Exception {
    final Path backbone = dir.resolve("backbone.npz");
    final Path finetuned = dir.resolve("finetuned.npz");
    cli(
        "train",
        "--config",
        seed("002-frozen-backbone-pretrain.yaml"),
        "--set",
        "data.train.size=2000",
        "--epochs",
        "1",
        "--run-dir",
        dir.resolve("pretrain").toString(),
        "--export-weights",
        backbone.toString());
    final String log =
        cli(
            "train",
            "--config",
            seed("002-frozen-backbone-finetune.yaml"),
            "--init-weights",
            backbone.toString(),
            "--init-layers",
            String.join(",", BACKBONE),
            "--set",
            "data.train=" + SAME_IMAGES,
            "--set",
            "data.validation=" + SAME_IMAGES,
            "--set",
            "data.validationSplit=0",
            "--epochs",
            "4",
            "--run-dir",
            dir.resolve("finetune").toString(),
            "--export-weights",
            finetuned.toString());

    // Every backbone tensor, BN moving statistics included, loaded and left bit-identical.
    assertTrue(log.contains("10 tensors loaded"), log);
    assertTrue(log.contains("skipped (outside --init-layers): pretrain_head.weight"), log);
    final Map<String, NpyArray> imported = Npz.read(backbone);
    final Map<String, NpyArray> after = Npz.read(finetuned);
    final List<String> backboneKeys = new ArrayList<>();
    for (final String key : imported.keySet()) {
      if (BACKBONE.contains(key.substring(0, key.indexOf('.')))) {
        backboneKeys.add(key);
        assertEquals(imported.get(key), after.get(key), key + " changed during fine-tuning");
      }
    }
    // 10 tensors and the two BN layers' num_batches_tracked counters (written as 0).
    assertEquals(12, backboneKeys.size(), backboneKeys::toString);
    assertTrue(
        backboneKeys.contains("bn1.running_mean") && backboneKeys.contains("bn2.running_var"));
    assertFalse(
        imported.get("pretrain_head.weight").equals(after.get("head.weight")), "a new head");

    // Training and validation on the same images agree: the head learned on the features that
    // inference produces.
    final List<String> rows = Files.readAllLines(dir.resolve("finetune/metrics.csv"));
    final EpochRecord last = EpochRecord.parseCsv(rows.get(rows.size() - 1));
    assertTrue(last.validationAccuracy() > 0.5, "the head must learn: " + last);
    assertEquals(last.trainAccuracy(), last.validationAccuracy(), 0.05, last.toString());
  }

  @Test
  void aFrozenBackboneComputesTheSameInTrainingModeAsInInference() throws Exception {
    final Model frozen = model("002-frozen-backbone-finetune.yaml");
    final Model trainable = model("002-frozen-backbone-pretrain.yaml");
    final INDArray x = images(frozen, 16);
    final int backboneEnd = lastBackboneLayer(frozen) + 2; // bn2, relu, pool: the backbone output
    assertEquals("pool2", frozen.layers().get(backboneEnd).name());

    assertTrue(sameOutput(frozen, x, backboneEnd), "frozen BN must use the moving statistics");
    // Control: the pretraining model's BN layers are trainable and normalize with batch
    // statistics in training mode, so the same comparison must fail there.
    assertFalse(sameOutput(trainable, x, backboneEnd), "the comparison proves nothing");
  }

  /** A model of the seed config with the non-trivial moving statistics a pretraining leaves. */
  private Model model(final String file) {
    final RunConfig config = ConfigLoader.load(SeedRun.seedsDirectory().resolve(file), Map.of());
    final Model model =
        Replicas.newModel(config, TrainingData.load(config, SeedRun.seedsDirectory()));
    for (final String bn : List.of("bn1", "bn2")) {
      final INDArray mean = model.tensor(bn + ".running_mean");
      final INDArray var = model.tensor(bn + ".running_var");
      for (int c = 0; c < mean.length(); c++) {
        mean.putScalar(c, 0.1 * (c % 5) - 0.2);
        var.putScalar(c, 0.5 + 0.05 * c);
      }
    }
    return model;
  }

  private static int lastBackboneLayer(final Model model) {
    final List<String> names = model.layers().stream().map(l -> l.name()).toList();
    return names.indexOf(BACKBONE.get(BACKBONE.size() - 1));
  }

  /** Whether a training-mode and an inference-mode forward agree, bit for bit, up to layer. */
  private static boolean sameOutput(final Model model, final INDArray x, final int layer) {
    model.forward(x, StepContext.training(1, 0, (int) x.size(0)));
    final INDArray training = model.lastOutputs().get(layer).dup();
    model.forward(x, StepContext.inference());
    return training.equals(model.lastOutputs().get(layer));
  }

  /** The first {@code n} fine-tuning images, as the trainer feeds them. */
  private static INDArray images(final Model model, final int n) {
    final RunConfig config =
        ConfigLoader.load(
            SeedRun.seedsDirectory().resolve("002-frozen-backbone-finetune.yaml"), Map.of());
    final TrainingData data = TrainingData.load(config, SeedRun.seedsDirectory());
    final BatchAssembler assembler = new BatchAssembler(data.train(), data.normalization());
    final INDArray x = assembler.allocate(model.dataType(), n);
    final int[] labels = new int[n * data.train().labelPositions()];
    assembler.fill(IntStream.range(0, n).toArray(), 0, n, x, labels);
    return x;
  }

  private static String seed(final String file) {
    return SeedRun.seedsDirectory().resolve(file).toString();
  }

  /** Runs the CLI in this JVM; returns its standard output, failing on a non-zero exit code. */
  static String cli(final String... args) {
    final List<String> all = new ArrayList<>(List.of(args));
    all.addAll(List.of("--no-progress", "--set", "failure.stepDeadline=10m"));
    final CliRun run = CliRun.of(all.toArray(String[]::new));
    assertEquals(0, run.code(), run.all());
    return run.all();
  }
}
