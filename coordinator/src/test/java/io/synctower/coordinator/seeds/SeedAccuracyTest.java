package io.synctower.coordinator.seeds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.coordinator.train.EpochRecord;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The seed examples at full size, to accuracy thresholds: minutes each, so only in {@code mvn -B
 * -Pseeds verify}. The default build's Seed*Test classes check the same claims on shrunk runs.
 */
@Tag("slow")
@Tag("seeds")
class SeedAccuracyTest {
  @TempDir Path dir;

  @Test
  void captchaLearnsWithKeras2sAdadeltaRateAndStaysAtItsStartWithTf2s() throws Exception {
    // The seed's model and settings on 4000 captchas (3600 train, 400 validation), 2 epochs.
    final Map<String, String> smaller = Map.of("data.train.size", "4000", "training.epochs", "2");
    final EpochRecord keras2 = SeedRun.of("000-captcha-adadelta.yaml", smaller, dir).train().last();
    final Map<String, String> tf2 =
        Map.of(
            "data.train.size", "4000",
            "training.epochs", "2",
            "training.optimizer.lr", "0.001");
    final EpochRecord stuck =
        SeedRun.of("000-captcha-adadelta.yaml", tf2, dir.resolve("tf2")).train().last();
    // Measured with lr 1.0: training loss 8.9 -> 5.5 after the first epoch (56 steps), 4.6 after
    // the second; accuracy still near chance (1/62 = 1.6% per character; 4.2% training, 2.1%
    // validation), as in TF 1.13's own first epochs in the report (2.5%, then 7%). Validation
    // loss is no guide this early (4.6, then 5.8: the report's TF 1.13 run also rose from 4.27 to
    // 4.31). The accuracy climb needs a few hundred steps more (the report: 37% validation after
    // 4 epochs of 125 steps), too long even for this profile on 2 shared cores.
    assertTrue(keras2.trainLoss() < 0.75 * stuck.trainLoss(), keras2 + " vs " + stuck);
    assertTrue(stuck.validationAccuracy() < 0.05, "lr 0.001: " + stuck);
  }

  @Test
  void frozenBackboneFineTunesToValidationAccuracyCloseToTraining() throws Exception {
    final Path backbone = dir.resolve("backbone.npz");
    Seed002FrozenBackboneTest.cli(
        "train",
        "--config",
        SeedRun.seedsDirectory().resolve("002-frozen-backbone-pretrain.yaml").toString(),
        "--run-dir",
        dir.resolve("pretrain").toString(),
        "--export-weights",
        backbone.toString());
    Seed002FrozenBackboneTest.cli(
        "train",
        "--config",
        SeedRun.seedsDirectory().resolve("002-frozen-backbone-finetune.yaml").toString(),
        "--init-weights",
        backbone.toString(),
        "--init-layers",
        String.join(",", Seed002FrozenBackboneTest.BACKBONE),
        "--run-dir",
        dir.resolve("finetune").toString());
    final EpochRecord last = lastRow(dir.resolve("finetune"));
    // Measured: 95.3% training, 94.7% validation per character after 2 epochs.
    assertTrue(last.validationAccuracy() > 0.9, last.toString());
    assertEquals(last.trainAccuracy(), last.validationAccuracy(), 0.03, last.toString());
  }

  @Test
  void fourTowersOfTwoValidateAsTheyTrain() throws Exception {
    final EpochRecord last =
        SeedRun.of("003-four-towers-batch-2.yaml", Map.of(), dir).train().last();
    // Measured: 100% and 100%, losses 0.0024 (training) and 0.0035 (validation) after 3 epochs;
    // the report's validation loss was 30 times its training loss.
    assertTrue(last.validationAccuracy() > 0.95, last.toString());
    assertEquals(last.trainAccuracy(), last.validationAccuracy(), 0.02, last.toString());
    assertTrue(last.validationLoss() < 3 * last.trainLoss() + 0.01, last.toString());
  }

  private static EpochRecord lastRow(final Path runDir) throws Exception {
    final List<String> rows = Files.readAllLines(runDir.resolve("metrics.csv"));
    return EpochRecord.parseCsv(rows.get(rows.size() - 1));
  }
}
