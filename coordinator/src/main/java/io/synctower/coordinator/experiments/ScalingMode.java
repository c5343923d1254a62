package io.synctower.coordinator.experiments;

import java.util.Locale;

/**
 * What a scaling sweep keeps fixed as the tower count grows.
 *
 * <ul>
 *   <li>{@link #STRONG}: the global batch (the config's {@code training.batchSize}): more towers
 *       split the same work, each gets a smaller shard, and the step should get shorter.
 *   <li>{@link #WEAK}: the per-tower batch (the config's {@code training.batchSize}): the global
 *       batch is {@code batchSize x towers}, and the step should take as long as on one tower.
 * </ul>
 */
public enum ScalingMode {
  STRONG,
  WEAK;

  /** The global batch of a run on {@code towers} towers, from the config's batch size. */
  public int globalBatch(final int configBatch, final int towers) {
    return this == STRONG ? configBatch : Math.multiplyExact(configBatch, towers);
  }

  /** What scaling efficiency means in this mode, for the report. */
  public String efficiencyMeaning() {
    return this == STRONG
        ? "the same global batch split over N towers: 100% means the step got N times shorter"
        : "N times the work on N towers: 100% means the step took as long as on one tower";
  }

  /** Lower case, as the CSV and the command line write it. */
  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }
}
