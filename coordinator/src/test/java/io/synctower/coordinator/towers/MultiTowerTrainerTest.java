package io.synctower.coordinator.towers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.config.ConfigLoader;
import io.synctower.common.config.RunConfig;
import io.synctower.common.metrics.MetricSums;
import io.synctower.common.metrics.PhaseTimes;
import io.synctower.common.protocol.Report;
import io.synctower.coordinator.train.EpochRecord;
import io.synctower.coordinator.train.Trainer;
import io.synctower.worker.assembly.TrainingData;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The coordinator's loop end to end (seeded shards, per-tower prefetch, messages, metrics reduced
 * by sample count, sharded validation): with SyncBN, 3 towers report the same epochs as 1 tower.
 */
class MultiTowerTrainerTest {
  private static final String CONFIG =
      """
      name: towers
      seed: 3
      model:
        dtype: float64
        layers:
          - {type: conv2d, filters: 4, kernel: 3, stride: 2, bias: false}
          - {type: batchnorm}
          - {type: relu}
          - {type: flatten}
          - {type: dropout, rate: 0.2}
          - {type: dense, units: 16}
      data:
        train: {type: overfit, size: 16}
        validation: {type: overfit, size: 16}
      training:
        epochs: 3
        batchSize: 5
        evalBatchSize: 4
        optimizer: {type: sgd, lr: 0.1, momentum: 0.9}
        replicaCheckEvery: 1
      bn:
        sync: true
      """;

  @TempDir Path dir;

  private List<EpochRecord> train(final int towers) throws Exception {
    return train(towers, true);
  }

  private List<EpochRecord> train(final int towers, final boolean sync) throws Exception {
    final RunConfig config =
        ConfigLoader.parse(
            CONFIG,
            "towers",
            Map.of("towers", Integer.toString(towers), "bn.sync", Boolean.toString(sync)));
    try (Trainer trainer =
        new Trainer(
            config,
            TrainingData.load(config, dir),
            new Trainer.Options(
                dir.resolve("run" + towers),
                false,
                new PrintStream(OutputStream.nullOutputStream())))) {
      return trainer.run().epochs();
    }
  }

  @Test
  void threeTowersWithSyncBnReportTheEpochsOfOneTower() throws Exception {
    final List<EpochRecord> one = train(1);
    final List<EpochRecord> three = train(3); // shards 2/2/1 of each batch of 5
    assertEquals(one.size(), three.size());
    for (int e = 0; e < one.size(); e++) {
      final EpochRecord a = one.get(e);
      final EpochRecord b = three.get(e);
      assertEquals(a.step(), b.step());
      assertEquals(a.trainLoss(), b.trainLoss(), 1e-10 * Math.abs(a.trainLoss()), "epoch " + e);
      assertEquals(a.trainAccuracy(), b.trainAccuracy(), "epoch " + e);
      assertEquals(
          a.validationLoss(),
          b.validationLoss(),
          1e-10 * Math.abs(a.validationLoss()),
          "epoch " + e);
      assertEquals(a.validationAccuracy(), b.validationAccuracy(), "epoch " + e);
    }
    // Control: local BN on 3 towers normalizes shards of 2/2/1 and must not match.
    final List<EpochRecord> local = train(3, false);
    assertTrue(
        Math.abs(local.get(0).trainLoss() - one.get(0).trainLoss()) > 1e-6,
        "local BN on 3 towers matched 1 tower; the comparison proves nothing");
  }

  @Test
  void sameSeedAndConfigGiveIdenticalMetrics() throws Exception {
    final List<EpochRecord> first = train(3);
    final List<EpochRecord> second = train(3);
    for (int e = 0; e < first.size(); e++) {
      assertEquals(first.get(e).trainLoss(), second.get(e).trainLoss(), 0.0, "epoch " + e);
      assertEquals(first.get(e).validationLoss(), second.get(e).validationLoss(), 0.0);
    }
  }

  @Test
  void differingReplicaHashesNameTheStepAndTheTowers() {
    final List<Report> round =
        List.of(
            new Report.StepDone(
                1,
                0,
                41,
                new MetricSums(0, 0, 0, 1),
                new PhaseTimes(0, 0, 0, 0, 0, 0),
                7L,
                false,
                ""),
            new Report.StepDone(
                1,
                1,
                41,
                new MetricSums(0, 0, 0, 1),
                new PhaseTimes(0, 0, 0, 0, 0, 0),
                7L,
                false,
                ""),
            new Report.StepDone(
                1,
                2,
                41,
                new MetricSums(0, 0, 0, 1),
                new PhaseTimes(0, 0, 0, 0, 0, 0),
                8L,
                false,
                ""));
    final ReplicaMismatchException e =
        assertThrows(
            ReplicaMismatchException.class, () -> RoundCollector.checkReplicaHashes(round));
    assertTrue(
        e.getMessage().contains("step 41") && e.getMessage().contains("towers [2]"),
        e.getMessage());
    RoundCollector.checkReplicaHashes(round.subList(0, 2));
  }
}
