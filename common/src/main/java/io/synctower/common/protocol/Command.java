package io.synctower.common.protocol;

/**
 * What the coordinator tells a tower. Plans carry positions (epoch, step), never data: every tower
 * computes its sample indices from the seeded epoch permutation and its shard bounds. These are the
 * messages the networked transport encodes; an in-process tower receives the same objects.
 */
public sealed interface Command extends Message {
  /** The run the command belongs to; a tower ignores commands of another run. */
  @Override
  long runId();

  /**
   * Train one step: batch {@code batchInEpoch} of {@code epoch} (1-based), global optimizer step
   * {@code step}, with learning rate {@code learningRate}. With {@code reportHash} the tower
   * includes the hash of its replica after the step.
   */
  record TrainStep(
      long runId, int epoch, int batchInEpoch, long step, double learningRate, boolean reportHash)
      implements Command {}

  /** Evaluate this tower's slice of a dataset in inference mode (no collectives). */
  record Evaluate(long runId, DatasetRole dataset) implements Command {}

  /** Stop the tower's loop and release its resources. */
  record Shutdown(long runId) implements Command {}

  /**
   * Stop the step in flight: tower {@code culprit} failed or was lost. A tower waiting in a
   * collective fails it instead of waiting for data that will never come.
   */
  record Abort(long runId, long step, int culprit, String reason) implements Command {}

  /**
   * Tower 0 writes its replica's weights, as of step {@code step}, to the file {@code path} as an
   * npz in the PyTorch layout (replicas are identical, so one copy is the model); the other towers
   * write nothing. Every tower answers with {@link Report.CheckpointDone}, tower 0 once the file is
   * written. Weights only: no optimizer state, no data position (see {@link Checkpoint}).
   */
  record ExportWeights(long runId, long step, String path) implements Command {}

  /**
   * Tower 0 snapshots its full training state (replica and optimizer) and commits it as checkpoint
   * {@code step} into the checkpoint store at {@code directory}, with {@code trainerState} (the
   * coordinator's state of the run as YAML text, at most {@value ControlCodec#MAX_TEXT_BYTES} bytes
   * of UTF-8) as one of the checkpoint's files, keeping the newest {@code keep} checkpoints of the
   * store. Replicas are identical, so the other towers write nothing.
   *
   * <p>Every tower answers with {@link Report.CheckpointDone}. With {@code awaitWrite} tower 0
   * answers only after the commit; without, right after the snapshot, before the checkpoint is
   * written.
   */
  record Checkpoint(
      long runId, long step, String directory, int keep, boolean awaitWrite, String trainerState)
      implements Command {}

  /**
   * Every tower loads the checkpoint directory {@code path} (one checkpoint, as {@link Checkpoint}
   * committed it) into its replica and its optimizer, and answers with {@link
   * Report.CheckpointDone}.
   */
  record Restore(long runId, String path) implements Command {}

  /**
   * Precise BN: every tower forwards its shard of {@code batches} global batches of the training
   * set in training mode, with the run's BN mode, accumulates the BN layers' union statistics, sums
   * them over all towers and replaces the moving statistics of every trainable BN layer with the
   * population's (see {@code PreciseBn}). No optimizer step, no parameter change. The batches are
   * passes over seeded permutations of the training set picked by {@code round} (the epoch that
   * ends, or 0), the same on every tower; more batches than one pass holds wrap into the next pass.
   * Every tower answers with {@link Report.PreciseBnDone}.
   */
  record RunPreciseBn(long runId, int batches, long round) implements Command {}

  /** Which of the run's datasets. */
  enum DatasetRole {
    TRAIN,
    VALIDATION
  }
}
