package io.synctower.coordinator.doctor;

import io.synctower.common.bn.BatchNorm;
import io.synctower.common.nn.BnTraining;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Statistic groups too small for BN (seed 003: tiny per-GPU batches, no cross-GPU BN). Batch
 * statistics over fewer than {@value #MIN_GROUP} samples are noisy enough to hurt training and to
 * make training and inference disagree (Wu &amp; He, "Group Normalization", 2018, show the error
 * rising steeply below 8 images per GPU). WARN below that; PROBLEM for a group of a single sample
 * feeding a BN layer over vectors (dense features), whose batch variance is then 0, so the layer
 * outputs beta whatever its input.
 *
 * <p>For a run below the limit the finding lists what SyncBN would give over all towers and over
 * every sync-group size that divides the tower count, and suggests the smallest group that reaches
 * the limit (the smaller the group, the cheaper its all-reduce).
 */
final class SmallBatchCheck implements Check {
  static final int MIN_GROUP = 8;
  private static final String NAME = "statistic groups";

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public Finding examine(final Evidence evidence) {
    final StatisticGroups groups = evidence.groups();
    final int smallest = groups.smallest();
    if (BatchNorm.layersOf(evidence.model()).stream().noneMatch(BatchNorm::trainable)) {
      return Finding.ok(NAME, "no trainable BN layer: no batch statistics", Table.none());
    }
    final String measured =
        String.format(Locale.ROOT, "%s (limit %d)", groups.describe(), MIN_GROUP);
    if (smallest >= MIN_GROUP) {
      return Finding.ok(NAME, measured, Table.none());
    }
    final boolean vectorBn =
        BatchNorm.layersOf(evidence.model()).stream()
            .anyMatch(bn -> bn.trainable() && bn.inputShape().rank() == 1);
    final Severity severity = smallest == 1 && vectorBn ? Severity.PROBLEM : Severity.WARN;
    final List<List<String>> rows = new ArrayList<>();
    String fix = null;
    final int towers = groups.towers();
    final int batch = groups.batch();
    for (int g = 2; g <= towers; g++) {
      if (towers % g != 0) {
        continue;
      }
      final StatisticGroups sync = StatisticGroups.sync(batch, towers, g);
      final String setting =
          g == towers ? "bn.sync: true" : "bn.sync: true, bn.syncGroupSize: " + g;
      rows.add(List.of(setting, sync.smallest() + " samples", g + " towers per all-reduce"));
      if (fix == null && sync.smallest() >= MIN_GROUP) {
        fix = "set " + setting + " (groups of " + sync.smallest() + " samples)";
      }
    }
    if (groups.mode() == BnTraining.GHOST) {
      fix = "set bn.ghostBatch to at least " + MIN_GROUP + (fix == null ? "" : ", or " + fix);
    }
    if (fix == null) {
      fix =
          towers == 1
              ? "raise training.batchSize to at least " + MIN_GROUP
              : "even SyncBN over all "
                  + towers
                  + " towers has only "
                  + batch
                  + " samples: raise training.batchSize to at least "
                  + MIN_GROUP
                  + " and set bn.sync: true";
    }
    return new Finding(
        NAME,
        severity,
        measured,
        smallest == 1 && vectorBn
            ? "A statistic group of one sample has zero variance in a BN layer over features: it"
                + " outputs beta whatever the input, and nothing before it learns."
            : "Batch statistics over so few samples are noisy: every sample is normalized by"
                + " statistics it dominates, training suffers and the moving statistics describe"
                + " a different normalization than training used.",
        fix,
        rows.isEmpty()
            ? Table.none()
            : new Table(List.of("setting", "samples per group", "cost"), rows));
  }
}
