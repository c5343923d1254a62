package io.synctower.coordinator.experiments;

import java.util.List;

/**
 * What a sweep ran, for the report's header and its caveats.
 *
 * @param configName the configuration's {@code name}
 * @param configBatch the configuration's {@code training.batchSize} (global batch in strong mode,
 *     per-tower batch in weak mode)
 * @param dtype the model's dtype ({@code float32} or {@code float64})
 * @param transport how the towers ran, e.g. "in-process threads"
 * @param cores processors this JVM may use ({@link Runtime#availableProcessors()})
 */
public record SweepSetup(
    String configName, ScalePlan plan, int configBatch, String dtype, String transport, int cores) {
  /** The largest tower count of the sweep. */
  public int maxTowers() {
    return plan.towers().stream().mapToInt(Integer::intValue).max().orElse(0);
  }

  /** Whether some run had more towers than this machine has cores. */
  public boolean oversubscribed() {
    return maxTowers() > cores;
  }

  /** The tower counts, as given. */
  public List<Integer> towers() {
    return plan.towers();
  }
}
