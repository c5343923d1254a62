package io.synctower.common.protocol;

import io.synctower.common.metrics.MetricSums;
import io.synctower.common.metrics.PhaseTimes;
import java.util.List;
import java.util.Objects;

/** What a tower tells the coordinator. */
public sealed interface Report extends Message {
  @Override
  long runId();

  /** The tower's rank. */
  int rank();

  /**
   * Metrics and timings of one step on this tower's shard; {@code replicaHash} is 0 unless the plan
   * asked for it. {@code sums} are sums over the shard, so the coordinator's totals are exact for
   * uneven shards; {@code times} are this tower's ({@link PhaseTimes} says what each phase holds).
   * On the wire the fields travel flat, as the schema's StepDone lists them; its {@code samples}
   * field is an int32.
   *
   * <p>Non-finite values: {@code skipped} is true when the step's update was not applied because
   * some tower's loss or gradients were NaN or infinite and the policy is to skip such steps (the
   * same on every tower: the towers agree on it, so replicas stay identical). {@code nonFinite} is
   * empty unless this tower's own loss or gradients were non-finite; then it says where, e.g.
   * {@code "loss"} or {@code "gradient of layer 3 (conv2d 'conv2')"}, so the coordinator can name
   * the tower and the place.
   */
  record StepDone(
      long runId,
      int rank,
      long step,
      MetricSums sums,
      PhaseTimes times,
      long replicaHash,
      boolean skipped,
      String nonFinite)
      implements Report {
    public StepDone {
      Objects.requireNonNull(sums, "sums");
      Objects.requireNonNull(times, "times");
    }
  }

  /** Sums over this tower's slice of an evaluated dataset. */
  record EvaluationDone(long runId, int rank, MetricSums sums) implements Report {
    public EvaluationDone {
      Objects.requireNonNull(sums, "sums");
    }
  }

  /**
   * The tower failed at step {@code step} (-1 before its first step); it has aborted its
   * collectives so no other tower waits for it. {@code message} says what happened, {@code cause}
   * which kind of failure it was: the coordinator names the first failure that is not {@link
   * Cause#ABORTED} and decides from the cause whether a restart may retry ({@link #recoverable}).
   */
  record Failed(long runId, int rank, long step, String message, Cause cause) implements Report {
    /**
     * Whether the tower only stopped because another tower's failure aborted a collective ({@link
     * Cause#ABORTED}): a consequence, never the failure to name.
     */
    public boolean consequence() {
      return cause == Cause.ABORTED;
    }

    /**
     * Whether an elastic restart may retry the run from its last checkpoint: {@link Cause#CRASHED},
     * {@link Cause#LOST} and {@link Cause#STALLED} may pass on another attempt; the others ({@link
     * Cause#NON_FINITE}, {@link Cause#DATA}, {@link Cause#CHECKPOINT}) would fail the same way
     * again, and {@link Cause#ABORTED} is only the echo of another failure.
     */
    public boolean recoverable() {
      return cause == Cause.CRASHED || cause == Cause.LOST || cause == Cause.STALLED;
    }
  }

  /** Why a tower failed; travels as the schema's {@code FailureCause}. */
  enum Cause {
    /** An unexpected exception on the tower (a bug, out of memory, a device error). */
    CRASHED,
    /**
     * The tower only stopped because another tower's failure aborted a collective it was in; the
     * other tower's report names the cause.
     */
    ABORTED,
    /**
     * The tower is gone: its process or host died, its connection closed, or its heartbeats stopped
     * arriving. Only the coordinator observes this; a tower never reports it about itself.
     */
    LOST,
    /** The tower missed the step deadline: alive, but the step did not finish in time. */
    STALLED,
    /** The loss or the gradients were NaN or infinite and the non-finite policy is stop. */
    NON_FINITE,
    /** The input data could not be read or is bad (a missing file, a corrupt record, a label). */
    DATA,
    /** A checkpoint could not be written or read. */
    CHECKPOINT
  }

  /**
   * The answer to {@link Command.ExportWeights}, {@link Command.Checkpoint} and {@link
   * Command.Restore}: the weights or the checkpoint of step {@code step} are in {@code path}, the
   * file or checkpoint directory written (for a checkpoint answered before its commit: being
   * written) or loaded. A tower that writes nothing (every tower but 0 for an export or a
   * checkpoint) answers with an empty path.
   */
  record CheckpointDone(long runId, int rank, long step, String path) implements Report {}

  /**
   * The answer to {@link Command.RunPreciseBn}: {@code samples} is this tower's share of the
   * samples forwarded over all {@code batches}; {@code replicaHash} the hash of the replica with
   * its new statistics (equal on every tower); {@code layers} how far each BN layer's moving
   * statistics moved, in the model's order (identical on every tower).
   */
  record PreciseBnDone(
      long runId, int rank, int batches, long samples, long replicaHash, List<Movement> layers)
      implements Report {
    public PreciseBnDone {
      layers = List.copyOf(layers);
    }
  }

  /**
   * How far precise BN moved one BN layer's moving statistics: {@code meanShift} is the largest
   * |new mean - old mean| over channels in units of the old standard deviation (sqrt(old variance +
   * epsilon)); {@code varianceRatio} the largest factor between new and old variance (each plus
   * epsilon) over channels, >= 1. A frozen layer, which precise BN leaves alone, reports 0 and 1.
   */
  record Movement(double meanShift, double varianceRatio) {}
}
