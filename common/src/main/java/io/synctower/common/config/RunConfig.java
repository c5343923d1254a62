package io.synctower.common.config;

import io.synctower.common.bn.BnTraining;
import io.synctower.common.nn.LayerSpec;
import io.synctower.common.optim.OptimizerSpec;
import io.synctower.common.optim.ScheduleSpec;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * A validated run configuration. Built only by {@link ConfigLoader}, which checks everything once
 * and reports all problems together; after that, code trusts these values.
 *
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
    Map<String, Object> resolved) {

  /** The network: data type and layers. */
  public record Model(DataType dtype, List<LayerSpec> layers) {}

  /**
   * @param validation a separate validation set, or null
   * @param validationSplit fraction of {@code train} held out when {@code validation} is null
   * @param normalize "none", "auto" (estimate per-channel mean/std on the training set) or explicit
   *     values in {@code mean}/{@code std}
   */
  public record Data(
      DatasetSpec train,
      DatasetSpec validation,
      double validationSplit,
      String normalize,
      List<Double> mean,
      List<Double> std,
      int prefetch) {}

  /**
   * @param steps stop after this many optimizer steps (0 = run all epochs)
   * @param referenceBatch linear scaling rule: lr * batchSize / referenceBatch (0 = off)
   * @param replicaCheckEvery compare the replicas' hashes every this many steps (0 = never)
   */
  public record Training(
      int epochs,
      long steps,
      int batchSize,
      int evalBatchSize,
      OptimizerSpec optimizer,
      ScheduleSpec schedule,
      int referenceBatch,
      int replicaCheckEvery) {}

  /**
   * @param decay weight of the old value in the moving averages (0.99: moving = 0.99 moving + 0.01
   *     batch)
   * @param sync all-reduce batch statistics over the sync group (SyncBN)
   * @param syncGroupSize towers per sync group (0 = all towers)
   * @param ghostBatch virtual batch size for ghost BN (0 = off)
   */
  public record Bn(double decay, double epsilon, boolean sync, int syncGroupSize, int ghostBatch) {
    /** The training-mode statistic grouping these settings select. */
    public BnTraining training() {
      if (sync) {
        return BnTraining.SYNC;
      }
      return ghostBatch > 0 ? BnTraining.GHOST : BnTraining.LOCAL;
    }
  }
}
