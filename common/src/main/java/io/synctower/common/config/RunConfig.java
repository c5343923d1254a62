package io.synctower.common.config;

import io.synctower.common.data.Augmentation;
import io.synctower.common.nn.BnTraining;
import io.synctower.common.nn.LayerSpec;
import io.synctower.common.optim.OptimizerSpec;
import io.synctower.common.optim.ScheduleSpec;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * A validated run configuration. Built only by {@link ConfigLoader}, which checks everything once
 * and reports all problems together; after that, code trusts these values.
 *
 * @param checkpoint when checkpoints are written and how many are kept ({@code checkpoint:})
 * @param failure what a run does when a tower is lost, stalls, or a step is not finite ({@code
 *     failure:})
 * @param logging what the run records besides metrics.csv and the step log ({@code logging:})
 * @param doctor print the BN doctor's short summary after the last epoch ({@code doctor:}, default
 *     true; {@code --no-doctor})
 * @param resolved the configuration as it runs (every default filled in), saved as the run
 *     directory's {@code config.yaml}
 */
public record RunConfig(
    String name,
    long seed,
    int towers,
    Model model,
    Data data,
    Training training,
    Bn bn,
    Checkpointing checkpoint,
    Failure failure,
    Logging logging,
    boolean doctor,
    Map<String, Object> resolved) {

  /**
   * A copy of this configuration with {@code overrides} (dotted keys to YAML scalars, as {@code
   * --set} takes them) applied and validated exactly like the file's own values: the way a run
   * changes its config (fewer towers after a lost tower, a sweep's runs) while it stays a typed
   * value, with {@link #resolved} updated to match.
   *
   * @param source names the changed configuration in errors
   * @throws ConfigException listing every problem of the changed configuration
   */
  public RunConfig withOverrides(final Map<String, String> overrides, final String source) {
    return ConfigLoader.revise(this, overrides, source);
  }

  /**
   * This configuration with {@code towers} towers, validated like {@link #withOverrides}; this one
   * when the count is unchanged.
   *
   * @param source names the changed configuration in errors
   */
  public RunConfig withTowers(final int towers, final String source) {
    return towers == this.towers
        ? this
        : withOverrides(Map.of("towers", Integer.toString(towers)), source);
  }

  /** The network: data type and layers. */
  public record Model(DataType dtype, List<LayerSpec> layers) {}

  /**
   * @param validation a separate validation set, or null
   * @param validationSplit fraction of {@code train} held out when {@code validation} is null
   * @param normalize "none", "auto" (estimate per-channel mean/std on the training set) or explicit
   *     values in {@code mean}/{@code std}
   * @param augment random crop and flip of training batches ({@code data.augment}), or null for
   *     none
   */
  public record Data(
      DatasetSpec train,
      DatasetSpec validation,
      double validationSplit,
      String normalize,
      List<Double> mean,
      List<Double> std,
      int prefetch,
      Augmentation augment) {}

  /**
   * @param steps stop after this many optimizer steps (0 = run all epochs)
   * @param referenceBatch linear scaling rule: lr * batchSize / referenceBatch (0 = off)
   * @param replicaCheckEvery compare the replicas' hashes every this many steps (0 = never)
   * @param allowEmptyShards whether {@code towers > batchSize} is accepted, leaving some towers
   *     without samples in every step (they still join every collective, with zero counts)
   * @param clipGradNorm scale the all-reduced gradient down to this global L2 norm when it is
   *     larger, as PyTorch's {@code clip_grad_norm_} (0 = off)
   * @param accumulateSteps micro-batches per tower and optimizer step (gradient accumulation; 1 =
   *     off): each tower's shard is split by the shard rule, forward and backward run per
   *     micro-batch, one all-reduce and one update per step
   * @param earlyStopping stop when a metric stops improving ({@code training.earlyStopping})
   * @param reduceLrOnPlateau lower the learning rate when a metric stops improving ({@code
   *     training.reduceLrOnPlateau})
   */
  public record Training(
      int epochs,
      long steps,
      int batchSize,
      int evalBatchSize,
      OptimizerSpec optimizer,
      ScheduleSpec schedule,
      int referenceBatch,
      int replicaCheckEvery,
      boolean allowEmptyShards,
      double clipGradNorm,
      int accumulateSteps,
      EarlyStopping earlyStopping,
      ReduceLrOnPlateau reduceLrOnPlateau) {}

  /**
   * A {@code metrics.csv} column the end-of-epoch rules watch; YAML values are the column names
   * ({@code val_loss}).
   */
  public enum Monitor {
    TRAIN_LOSS,
    TRAIN_ACC,
    TRAIN_SEQ_ACC,
    VAL_LOSS,
    VAL_ACC,
    VAL_SEQ_ACC;

    /** The column's name in {@code metrics.csv}, as the config spells it. */
    public String column() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }

    /** Whether the value comes from the validation set (so the run needs one). */
    public boolean needsValidation() {
      return name().startsWith("VAL_");
    }

    /** What {@code mode: auto} means: lower is better for a loss, higher for an accuracy. */
    public boolean lowerIsBetter() {
      return name().endsWith("_LOSS");
    }
  }

  /**
   * Early stopping as Keras's {@code EarlyStopping}: after each epoch, the monitored value improves
   * when it beats the best so far by more than {@code minDelta}; the run stops after the epoch that
   * makes {@code patience} epochs in a row without an improvement.
   *
   * @param patience epochs without improvement before stopping (0 = off)
   * @param minimize whether lower values are better ({@code mode: min}, or {@code auto} on a loss)
   */
  public record EarlyStopping(Monitor monitor, int patience, double minDelta, boolean minimize) {
    public boolean enabled() {
      return patience > 0;
    }
  }

  /**
   * Reduce-LR-on-plateau as Keras's {@code ReduceLROnPlateau}: after {@code patience} epochs
   * without an improvement of more than {@code minDelta}, the learning rate (the schedule's, times
   * the factor so far) is multiplied by {@code factor}, never below {@code minLr}, then {@code
   * cooldown} epochs pass before the count starts again.
   *
   * @param patience epochs without improvement before a reduction (0 = off)
   * @param factor the multiplier of each reduction, in (0, 1)
   * @param minimize whether lower values are better ({@code mode: min}, or {@code auto} on a loss)
   */
  public record ReduceLrOnPlateau(
      Monitor monitor,
      int patience,
      double factor,
      double minDelta,
      int cooldown,
      double minLr,
      boolean minimize) {
    public boolean enabled() {
      return patience > 0;
    }
  }

  /**
   * @param decay weight of the old value in the moving averages (0.99: moving = 0.99 moving + 0.01
   *     batch)
   * @param sync all-reduce batch statistics over the sync group (SyncBN)
   * @param syncGroupSize towers per sync group (0 = all towers)
   * @param ghostBatch virtual batch size for ghost BN (0 = off)
   * @param preciseBatches precise BN at the end of every epoch over this many global batches: the
   *     moving statistics become the population statistics under the epoch's final weights (0 =
   *     off)
   */
  public record Bn(
      double decay,
      double epsilon,
      boolean sync,
      int syncGroupSize,
      int ghostBatch,
      int preciseBatches) {
    /** The training-mode statistic grouping these settings select. */
    public BnTraining training() {
      if (sync) {
        return BnTraining.SYNC;
      }
      return ghostBatch > 0 ? BnTraining.GHOST : BnTraining.LOCAL;
    }
  }

  /**
   * When checkpoints are written: every {@code everySteps} optimizer steps and/or every {@code
   * everyMinutes} minutes of training, whichever comes first; both 0 means never.
   *
   * @param everySteps optimizer steps between checkpoints (0 = not by steps)
   * @param everyMinutes minutes of training between checkpoints (0 = not by time)
   * @param keep committed checkpoints kept on disk (at least 1); older ones are deleted
   */
  public record Checkpointing(long everySteps, double everyMinutes, int keep) {}

  /** What a step whose loss or gradients contain NaN or Inf does; YAML values are lower case. */
  public enum NonFinitePolicy {
    /** End the run with an error naming the step and the towers that saw non-finite values. */
    STOP,
    /** Drop the step on every tower (no weight update) and go on with the next batch. */
    SKIP
  }

  /**
   * @param elastic on a lost tower, restart from the latest checkpoint and go on (false: the run
   *     ends with an error naming the tower)
   * @param maxRestarts elastic restarts per run before giving up (0: none)
   * @param onNonFinite what a step with NaN/Inf in its loss or gradients does
   * @param stepDeadline how long after the first tower of a step reported the others may take
   *     before the slow ones are declared stalled (positive)
   */
  public record Failure(
      boolean elastic, int maxRestarts, NonFinitePolicy onNonFinite, Duration stepDeadline) {}

  /**
   * What a run records besides metrics.csv and the step log.
   *
   * @param tensorboard write TensorBoard scalars into {@code RUN_DIR/tensorboard}
   * @param everySteps the step loss and learning rate every this many steps (epoch scalars are
   *     written at every epoch's end)
   */
  public record Logging(boolean tensorboard, int everySteps) {}
}
