package io.synctower.coordinator.train;

import io.synctower.common.config.ConfigException;
import io.synctower.common.nn.Model;
import io.synctower.common.protocol.Command;
import io.synctower.common.protocol.Report;
import io.synctower.coordinator.towers.Towers;
import java.util.List;

/**
 * One precise-BN pass over every tower, as the trainer runs it at an epoch's end ({@code
 * bn.preciseBatches}) and {@code synctower precise-bn} runs it on a checkpoint: the towers forward
 * the chosen global batches and replace their moving statistics; {@link PreciseBnResult} checks
 * that they agree and says what moved. Apart from the step loop because it is a different kind of
 * round (no optimizer step) with its own argument check.
 */
final class PreciseBnRound {
  private PreciseBnRound() {}

  /**
   * Runs the pass over {@code batches} global batches picked by {@code round} (see {@code
   * PreciseBnBatches}: the same round gives the same batches on any tower count).
   *
   * @param reference a replica of the towers' architecture, for the layer names
   * @throws ConfigException if {@code batches} is not positive
   */
  static PreciseBnResult run(
      final Towers towers,
      final long runId,
      final Model reference,
      final int batches,
      final long round)
      throws InterruptedException {
    if (batches <= 0) {
      throw new ConfigException(
          "batches",
          List.of(
              batches
                  + ": precise BN needs at least one global batch; give a positive count, e.g."
                  + " 50"));
    }
    final long start = System.nanoTime();
    towers.send(new Command.RunPreciseBn(runId, batches, round));
    final List<Report> reports = towers.collect();
    return PreciseBnResult.of(reports, reference, (System.nanoTime() - start) / 1e9);
  }
}
