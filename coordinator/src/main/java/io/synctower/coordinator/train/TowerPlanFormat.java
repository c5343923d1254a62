package io.synctower.coordinator.train;

import io.synctower.common.config.RunConfig;
import java.util.Locale;
import org.nd4j.linalg.factory.Nd4j;

/** The start-of-run lines that say what each tower gets and which BN mode is in force. */
final class TowerPlanFormat {
  private TowerPlanFormat() {}

  static String describe(final RunConfig config, final int[] shardSizes) {
    final int n = shardSizes.length;
    final int devices = Nd4j.getAffinityManager().getNumberOfDevices();
    final String backend = Nd4j.getBackend().getClass().getSimpleName().replace("Backend", "");
    final StringBuilder sb = new StringBuilder();
    sb.append(String.format(Locale.ROOT, "towers: %d (in-process threads)", n));
    for (int r = 0; r < n; r++) {
      sb.append(
          String.format(
              Locale.ROOT,
              "%n  tower %d: %s device %d, %d samples per step",
              r,
              backend,
              r % devices,
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
        "%s; moving statistics (decay %s) updated every step from the whole global batch",
        stats,
        bn.decay());
  }
}
