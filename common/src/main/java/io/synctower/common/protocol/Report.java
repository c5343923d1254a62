package io.synctower.common.protocol;

/** What a tower tells the coordinator. */
public sealed interface Report extends Message {
  @Override
  long runId();

  /** The tower's rank. */
  int rank();

  /**
   * Metrics and timings of one step on this tower's shard; {@code replicaHash} is 0 unless the plan
   * asked for it. Loss and counts are sums over the shard, so the coordinator's totals are exact
   * for uneven shards.
   */
  record StepDone(
      long runId,
      int rank,
      long step,
      double lossSum,
      long correctPositions,
      long correctSequences,
      int samples,
      long dataWaitNanos,
      long forwardNanos,
      long backwardNanos,
      long allReduceNanos,
      long optimizerNanos,
      long replicaHash)
      implements Report {}

  /** Sums over this tower's slice of an evaluated dataset. */
  record EvaluationDone(
      long runId,
      int rank,
      double lossSum,
      long correctPositions,
      long correctSequences,
      long samples)
      implements Report {}

  /**
   * The tower failed; it has aborted its collectives so no other tower waits for it. {@code
   * consequence} is true when it only stopped because another tower's failure aborted a collective.
   */
  record Failed(long runId, int rank, long step, String message, boolean consequence)
      implements Report {}

  /** The weights of step {@code step} are in {@code path}. */
  record CheckpointDone(long runId, int rank, long step, String path) implements Report {}
}
