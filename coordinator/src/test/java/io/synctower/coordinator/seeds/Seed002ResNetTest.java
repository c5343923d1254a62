package io.synctower.coordinator.seeds;

import static io.synctower.coordinator.seeds.Seed002FrozenBackboneTest.cli;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.bn.BatchNorm;
import io.synctower.common.checkpoint.WeightLayout;
import io.synctower.common.checkpoint.WeightsFile;
import io.synctower.common.config.ConfigLoader;
import io.synctower.common.config.RunConfig;
import io.synctower.common.data.BatchAssembler;
import io.synctower.common.data.NpyArray;
import io.synctower.common.data.Npz;
import io.synctower.common.nn.Layer;
import io.synctower.common.nn.Model;
import io.synctower.common.nn.StepContext;
import io.synctower.coordinator.train.EpochRecord;
import io.synctower.worker.assembly.Replicas;
import io.synctower.worker.assembly.TrainingData;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Seed 002 on a real ResNet ({@code configs/seeds/002-resnet-*.yaml}: {@code model.preset:
 * resnet20} at a reduced width, torchvision's names), with the README's two commands: pretrain on
 * one synthetic task and export, then fine-tune a new {@code fc} on another task with the backbone
 * loaded and frozen by name prefix ({@code --init-layers conv1,bn1,layer1,layer2,layer3}, {@code
 * model.frozen}). Shrunk with {@code --set} (16x16 images, a few thousand in pretraining, 384 in
 * fine-tuning, less noise) and {@code --epochs}; like the report, the fine-tuning run validates on
 * its own training images, so any gap between training and validation accuracy is BN's doing, not
 * overfitting.
 */
class Seed002ResNetTest {
  /** The prefixes the fine-tuning command loads and the config freezes. */
  private static final List<String> BACKBONE =
      List.of("conv1", "bn1", "layer1", "layer2", "layer3");

  private static final String PRETRAIN_IMAGES =
      "{type: shapes, size: 2048, seed: 1, height: 16, width: 16, classes: 10, noise: 0.1}";

  /** The fine-tuning images, used for training and for validation (as in the report). */
  private static final String SAME_IMAGES =
      "{type: shapes, size: 384, seed: 3, height: 16, width: 16, classes: 3, noise: 0.3}";

  @TempDir Path dir;

  @Test
  void frozenResNetBackboneStaysBitIdenticalAndValidationFollowsTraining() throws Exception {
    final Path backbone = dir.resolve("backbone.npz");
    final Path finetuned = dir.resolve("finetuned.npz");
    cli(
        "train",
        "--config",
        seed("002-resnet-pretrain.yaml"),
        "--set",
        "data.train=" + PRETRAIN_IMAGES,
        "--set",
        "data.validation=" + PRETRAIN_IMAGES.replace("size: 2048, seed: 1", "size: 256, seed: 2"),
        "--epochs",
        "2",
        "--run-dir",
        dir.resolve("pretrain").toString(),
        "--export-weights",
        backbone.toString());
    final String log =
        cli(
            "train",
            "--config",
            seed("002-resnet-finetune.yaml"),
            "--init-weights",
            backbone.toString(),
            "--init-layers",
            String.join(",", BACKBONE),
            "--set",
            "data.train=" + SAME_IMAGES,
            "--set",
            "data.validation=" + SAME_IMAGES,
            "--set",
            "training.optimizer={type: adam, lr: 0.05}",
            "--epochs",
            "12",
            "--run-dir",
            dir.resolve("finetune").toString(),
            "--export-weights",
            finetuned.toString());

    final Map<String, NpyArray> imported = Npz.read(backbone);
    final Map<String, NpyArray> after = Npz.read(finetuned);
    final List<String> backboneKeys =
        imported.keySet().stream().filter(k -> !k.startsWith("fc.")).toList();
    // resnet20: conv1 and bn1, 9 basic blocks of conv1, bn1, conv2, bn2, and the projection
    // shortcuts (downsample.0 conv, downsample.1 BN) of layer2.0 and layer3.0: 1 + 9 * 2 + 2 = 21
    // convs, 21 BN layers of 4 tensors each and their 21 num_batches_tracked counters.
    assertEquals(21 + 21 * 4 + 21, backboneKeys.size(), backboneKeys::toString);
    assertTrue(log.contains("105 tensors loaded"), log);
    assertTrue(log.contains("skipped (outside --init-layers): fc.weight, fc.bias"), log);

    // Every backbone tensor, moving statistics of every BN in every block included, bit-identical.
    for (final String key : backboneKeys) {
      final NpyArray a = imported.get(key);
      final NpyArray b = after.get(key);
      assertEquals(a.dtype(), b.dtype(), key);
      assertArrayEquals(a.shape(), b.shape(), key);
      assertEquals(a.data(), b.data(), key + " changed during fine-tuning");
    }
    assertTrue(backboneKeys.contains("layer3.2.bn2.running_var"), backboneKeys::toString);
    assertTrue(backboneKeys.contains("layer2.0.downsample.1.running_mean"));
    // Only the backbone: the file and the fine-tuned model hold a head of their own class count.
    assertEquals(List.copyOf(imported.keySet()), List.copyOf(after.keySet()));
    assertArrayEquals(new long[] {10, 16}, imported.get("fc.weight").shape());
    assertArrayEquals(new long[] {3, 16}, after.get("fc.weight").shape());
    // The new head trained: it is not its initialization any more.
    final Model fresh = model("002-resnet-finetune.yaml", SAME_IMAGES);
    assertNotEquals(
        WeightsFile.toArrays(fresh, WeightLayout.PYTORCH).get("fc.weight"),
        after.get("fc.weight"),
        "fc must train");

    // Training and validation on the same images agree: the head learned on the features that
    // inference produces.
    final List<String> rows = Files.readAllLines(dir.resolve("finetune/metrics.csv"));
    final EpochRecord last = EpochRecord.parseCsv(rows.get(rows.size() - 1));
    final List<String> pretrainRows = Files.readAllLines(dir.resolve("pretrain/metrics.csv"));
    assertTrue(
        last.validationAccuracy() > 1 / 3.0 + 0.1,
        "the head must learn (chance 1/3): " + last + "; pretraining: " + pretrainRows);
    assertEquals(last.trainAccuracy(), last.validationAccuracy(), 0.05, last.toString());
  }

  @Test
  void aFrozenResNetBackboneComputesTheSameInTrainingModeAsInInference() {
    final Model frozen = withMovingStatistics(model("002-resnet-finetune.yaml", SAME_IMAGES));
    final Model trainable = withMovingStatistics(model("002-resnet-pretrain.yaml", SAME_IMAGES));
    final INDArray x = images(16);
    final int backboneEnd = names(frozen).indexOf("avgpool") - 1;
    // The ReLU after the last block's add: the backbone output, both branches of every block.
    assertEquals("layer3.2.relu", names(frozen).get(backboneEnd));
    // model.frozen reaches every conv and BN inside the blocks: only fc trains.
    assertEquals(
        List.of("fc"),
        frozen.layers().stream().filter(Layer::hasTrainableParameters).map(Layer::name).toList());
    assertEquals(21, frozen.layers().stream().filter(l -> l instanceof BatchNorm).count());

    assertTrue(sameOutput(frozen, x, backboneEnd), "frozen BN must use the moving statistics");
    // Control: the pretraining model's BN layers are trainable and normalize with batch
    // statistics in training mode, so the same comparison must fail there.
    assertFalse(sameOutput(trainable, x, backboneEnd), "the comparison proves nothing");
  }

  private static List<String> names(final Model model) {
    return model.layers().stream().map(Layer::name).toList();
  }

  /** A model of the seed config on {@code data} (both tasks' images have 3 channels, 16x16). */
  private static Model model(final String file, final String data) {
    final RunConfig config =
        ConfigLoader.load(
            SeedRun.seedsDirectory().resolve(file),
            Map.of("data.train", data, "data.validation", data));
    return Replicas.newModel(config, TrainingData.load(config, SeedRun.seedsDirectory()));
  }

  /** {@code model} with the non-trivial moving statistics a pretraining leaves, in every BN. */
  private static Model withMovingStatistics(final Model model) {
    for (final Layer layer : model.layers()) {
      if (layer instanceof BatchNorm) {
        final INDArray mean = model.tensor(layer.name() + ".running_mean");
        final INDArray var = model.tensor(layer.name() + ".running_var");
        for (int c = 0; c < mean.length(); c++) {
          mean.putScalar(c, 0.1 * (c % 5) - 0.2);
          var.putScalar(c, 0.5 + 0.05 * c);
        }
      }
    }
    return model;
  }

  /** Whether a training-mode and an inference-mode forward agree, bit for bit, up to layer. */
  private static boolean sameOutput(final Model model, final INDArray x, final int layer) {
    model.forward(x, StepContext.training(1, 0, (int) x.size(0)));
    final INDArray training = model.lastOutputs().get(layer).dup();
    model.forward(x, StepContext.inference());
    return training.equals(model.lastOutputs().get(layer));
  }

  /** The first {@code n} fine-tuning images, as the trainer feeds them. */
  private static INDArray images(final int n) {
    final RunConfig config =
        ConfigLoader.load(
            SeedRun.seedsDirectory().resolve("002-resnet-finetune.yaml"),
            Map.of("data.train", SAME_IMAGES, "data.validation", SAME_IMAGES));
    final TrainingData data = TrainingData.load(config, SeedRun.seedsDirectory());
    final BatchAssembler assembler = new BatchAssembler(data.train(), data.normalization());
    final INDArray x = assembler.allocate(config.model().dtype(), n);
    final int[] labels = new int[n * data.train().labelPositions()];
    assembler.fill(IntStream.range(0, n).toArray(), 0, n, x, labels);
    return x;
  }

  private static String seed(final String file) {
    return SeedRun.seedsDirectory().resolve(file).toString();
  }
}
