package io.synctower.common.nn;

import java.util.Objects;

/**
 * What a layer needs to know about the step it runs in. Created by the step executor; immutable
 * apart from the step position, which the executor advances with {@link #at}.
 *
 * @param training training-mode forward (batch statistics, dropout) or inference
 * @param bnTraining how BN forms its statistic batches in training mode
 * @param ghostBatch virtual batch size for {@link BnTraining#GHOST}, else 0
 * @param reducer the sync group's BN-statistic reducer ({@link StatsReducer#LOCAL} unless SyncBN)
 * @param seed the run seed (dropout masks derive from it)
 * @param step the global optimizer step
 * @param shardOffset position of this shard's first sample inside the global batch, so that
 *     per-sample randomness (dropout) depends on the global position, not on the tower count
 * @param globalBatch number of samples in the global batch (losses are means over it)
 */
public record StepContext(
    boolean training,
    BnTraining bnTraining,
    int ghostBatch,
    StatsReducer reducer,
    long seed,
    long step,
    int shardOffset,
    int globalBatch) {
  public StepContext {
    Objects.requireNonNull(bnTraining, "bnTraining");
    Objects.requireNonNull(reducer, "reducer");
    if (bnTraining == BnTraining.GHOST && ghostBatch <= 0) {
      throw new IllegalArgumentException("ghost BN needs ghostBatch > 0, got " + ghostBatch);
    }
  }

  /** Inference: moving statistics, no dropout, no collectives. */
  public static StepContext inference() {
    return new StepContext(false, BnTraining.LOCAL, 0, StatsReducer.LOCAL, 0, 0, 0, 0);
  }

  /** Single-tower training with local BN statistics. */
  public static StepContext training(final long seed, final long step, final int batch) {
    return new StepContext(true, BnTraining.LOCAL, 0, StatsReducer.LOCAL, seed, step, 0, batch);
  }

  /** The same context at another step and shard position. */
  public StepContext at(final long newStep, final int newShardOffset, final int newGlobalBatch) {
    return new StepContext(
        training, bnTraining, ghostBatch, reducer, seed, newStep, newShardOffset, newGlobalBatch);
  }
}
