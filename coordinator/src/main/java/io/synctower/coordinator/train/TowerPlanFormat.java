package io.synctower.coordinator.train;

import io.synctower.common.config.RunConfig;
import io.synctower.common.nn.LayerSpec;
import io.synctower.coordinator.towers.Towers;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

/** The start-of-run lines that say what each tower gets and which BN mode is in force. */
final class TowerPlanFormat {
  private TowerPlanFormat() {}

  static String describe(final RunConfig config, final Towers towers) {
    final int[] shardSizes = towers.shardSizes();
    final int n = shardSizes.length;
    final StringBuilder sb = new StringBuilder();
    sb.append(String.format(Locale.ROOT, "towers: %d (%s)", n, towers.describe()));
    for (int r = 0; r < n; r++) {
      sb.append(
          String.format(
              Locale.ROOT,
              "%n  tower %d: %s, %d samples per step",
              r,
              towers.placement(r),
              shardSizes[r]));
    }
    sb.append(System.lineSeparator()).append("BN: ").append(bnMode(config, n));
    return sb.toString();
  }

  private static String bnMode(final RunConfig config, final int towers) {
    final RunConfig.Bn bn = config.bn();
    final String stats =
        switch (bn.training()) {
          case SYNC -> {
            final int group = bn.syncGroupSize() > 0 ? bn.syncGroupSize() : towers;
            yield group == towers
                ? "SyncBN: batch statistics all-reduced over all " + towers + " towers"
                : "SyncBN in groups of " + group + " towers";
          }
          case GHOST -> "ghost BN: statistics per virtual batch of " + bn.ghostBatch() + " samples";
          case LOCAL ->
              towers > 1
                  ? "local: each tower normalizes with its own shard's statistics"
                  : "local batch statistics";
        };
    return String.format(
        Locale.ROOT,
        "%s; moving statistics (decay %s) updated every step from the whole global batch%s",
        stats,
        decays(config),
        bn.preciseBatches() > 0
            ? "; replaced at every epoch end by precise BN over "
                + bn.preciseBatches()
                + " batches (bn.preciseBatches)"
            : "");
  }

  /**
   * The decay the BN layers train with: a layer's own where its spec sets one (a preset's PyTorch
   * value, a {@code decay:} on the layer), else the {@code bn} section's; several values are
   * listed.
   */
  static String decays(final RunConfig config) {
    final Set<Double> decays = new TreeSet<>();
    for (final LayerSpec spec : LayerSpec.leaves(config.model().layers())) {
      if (spec instanceof LayerSpec.BatchNorm b) {
        decays.add(Double.isNaN(b.decay()) ? config.bn().decay() : b.decay());
      }
    }
    return decays.isEmpty()
        ? String.valueOf(config.bn().decay())
        : decays.stream().map(String::valueOf).collect(Collectors.joining(", "));
  }
}
