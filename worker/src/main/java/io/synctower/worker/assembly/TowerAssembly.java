package io.synctower.worker.assembly;

import io.synctower.common.bn.TimedStatsReducer;
import io.synctower.common.comm.Collective;
import io.synctower.common.config.RunConfig;
import io.synctower.common.data.Augmentation;
import io.synctower.common.data.Dataset;
import io.synctower.common.data.Normalization;
import io.synctower.common.nn.BnTraining;
import io.synctower.common.nn.Model;
import io.synctower.common.nn.SoftmaxCrossEntropy;
import io.synctower.common.nn.StatsReducer;
import io.synctower.common.nn.StepContext;
import io.synctower.common.protocol.Command;
import io.synctower.common.protocol.Report;
import io.synctower.worker.Tower;
import io.synctower.worker.TowerRuntime;
import java.util.Objects;
import java.util.concurrent.BlockingQueue;
import java.util.function.Consumer;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Builds tower {@code rank} of a run from its configuration, one way for every transport: the
 * replica, the loss, the optimizer, the step context (BN mode, SyncBN reducer) and the runtime
 * loop. In-process towers and worker processes differ only in the {@link GroupOpener} that opens
 * their collectives.
 *
 * <p>Groups: the world group (every tower) carries the gradient and union-statistic all-reduce;
 * with SyncBN, the sync groups of {@link SyncGroups} carry the BN statistics.
 */
public record TowerAssembly(
    long runId, RunConfig config, Dataset train, Dataset validation, Normalization normalization) {
  public TowerAssembly {
    Objects.requireNonNull(config, "config");
    Objects.requireNonNull(train, "train");
  }

  /** The towers of a run over {@code data}. */
  public TowerAssembly(final long runId, final RunConfig config, final TrainingData data) {
    this(runId, config, data.train(), data.validation(), data.normalization());
  }

  /** The training batches' augmentation, or null when the config has none that changes a sample. */
  Augmentation augmentation() {
    final Augmentation a = config.data().augment();
    return a == null || !a.changesSamples() ? null : a;
  }

  /** How the towers split into SyncBN groups. */
  public SyncGroups syncGroups() {
    return SyncGroups.of(config);
  }

  /** Whether towers reduce BN statistics over a sync group (SyncBN on more than one tower). */
  public boolean usesSyncGroups() {
    return config.bn().training() == BnTraining.SYNC && config.towers() > 1;
  }

  /**
   * Tower {@code rank}'s runtime loop over {@code model} (freshly built and initialized from the
   * run seed, identical on every tower), with its collectives opened by {@code groups}: the world
   * group, then its sync group when {@link #usesSyncGroups()}.
   *
   * @param device the ND4J device to bind the tower to, or -1 for {@code rank % devices}
   */
  public TowerRuntime runtime(
      final int rank,
      final int device,
      final Model model,
      final GroupOpener groups,
      final BlockingQueue<Command> inbox,
      final Consumer<Report> reports,
      final Runnable abortCollectives) {
    final int n = config.towers();
    final SyncGroups layout = syncGroups();
    final Collective world = layout.openWorld(groups, rank);
    if (world.size() != n || world.rank() != rank) {
      throw new IllegalArgumentException(
          "tower " + rank + " of " + n + " got world member " + world.rank() + "/" + world.size());
    }
    final RunConfig.Bn bn = config.bn();
    final StatsReducer reducer;
    if (usesSyncGroups()) {
      // Timed, so the step report shows the statistic reductions apart from compute.
      final Collective group = layout.openSyncGroup(groups, rank);
      reducer =
          new TimedStatsReducer(StatsReducer.of(group.rank(), group.size(), group::allReduceSum));
    } else {
      reducer = StatsReducer.LOCAL;
    }
    final StepContext context =
        new StepContext(
            true,
            bn.training(),
            bn.ghostBatch(),
            reducer,
            config.seed(),
            0,
            0,
            config.training().batchSize());
    final SoftmaxCrossEntropy loss =
        new SoftmaxCrossEntropy(train.labelPositions(), train.numClasses(), config.model().dtype());
    final Tower tower =
        new Tower(
            model,
            loss,
            config.training().optimizer().create(model.parameters(), model.trainableRanges()),
            world);
    tower.clipGradientNorm(config.training().clipGradNorm());
    tower.accumulateOver(config.training().accumulateSteps());
    final int devices = Nd4j.getAffinityManager().getNumberOfDevices();
    final TowerRuntime.Setup setup =
        new TowerRuntime.Setup(
            runId,
            rank,
            n,
            device >= 0 ? device : rank % devices,
            config.seed(),
            config.training().batchSize(),
            config.training().evalBatchSize(),
            train,
            validation,
            normalization,
            augmentation(),
            config.model().dtype(),
            config.data().prefetch(),
            context,
            config.failure().onNonFinite() == RunConfig.NonFinitePolicy.STOP,
            config);
    return new TowerRuntime(setup, tower, inbox, reports, abortCollectives);
  }
}
