package io.synctower.coordinator.towers;

import io.synctower.common.bn.BnTraining;
import io.synctower.common.bn.StatsReducer;
import io.synctower.common.comm.Collective;
import io.synctower.common.comm.InProcessGroup;
import io.synctower.common.config.RunConfig;
import io.synctower.common.data.Dataset;
import io.synctower.common.data.Normalization;
import io.synctower.common.nn.Model;
import io.synctower.common.nn.SoftmaxCrossEntropy;
import io.synctower.common.nn.StepContext;
import io.synctower.common.protocol.Command;
import io.synctower.common.protocol.Report;
import io.synctower.worker.Tower;
import io.synctower.worker.TowerRuntime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.function.Supplier;
import org.nd4j.linalg.factory.Nd4j;

/**
 * N towers as threads of this JVM (one per device: the single-node multi-GPU case), driven by the
 * same {@link Command}/{@link Report} messages a remote tower receives.
 *
 * <pre>{@code
 * try (InProcessTowers towers = InProcessTowers.start(config, models, train, validation, norm)) {
 *   towers.send(new Command.TrainStep(...));
 *   List<Report> reports = towers.collect();  // one per tower, by rank; throws if one failed
 * }
 * }</pre>
 *
 * <p>Collectives: one {@link InProcessGroup} over all towers for the gradient and union-statistic
 * all-reduce, and one per SyncBN sync group for the BN statistics. Threads: the caller (the
 * coordinator) only enqueues commands and takes reports; each replica is touched by its own tower
 * thread only.
 */
public final class InProcessTowers implements AutoCloseable {
  private final long runId;
  private final List<Model> models;
  private final List<BlockingQueue<Command>> inboxes = new ArrayList<>();
  private final BlockingQueue<Report> reports = new LinkedBlockingQueue<>();
  private final List<Thread> threads = new ArrayList<>();
  private final List<InProcessGroup> groups = new ArrayList<>();
  private final int[] shardSizes;

  /**
   * Starts {@code config.towers()} tower threads. {@code newModel} must return identically
   * initialized replicas (same seed); {@code train} and {@code validation} are shared read-only.
   */
  public InProcessTowers(
      final long runId,
      final RunConfig config,
      final Supplier<Model> newModel,
      final Dataset train,
      final Dataset validation,
      final Normalization normalization) {
    this.runId = runId;
    final int n = config.towers();
    final RunConfig.Bn bn = config.bn();
    final InProcessGroup world = new InProcessGroup(n);
    groups.add(world);
    final int groupSize = bn.syncGroupSize() > 0 ? bn.syncGroupSize() : n;
    final InProcessGroup[] syncGroups = new InProcessGroup[n / groupSize];
    for (int g = 0; g < syncGroups.length; g++) {
      syncGroups[g] = new InProcessGroup(groupSize);
      groups.add(syncGroups[g]);
    }
    final int devices = Nd4j.getAffinityManager().getNumberOfDevices();
    this.models = new ArrayList<>();
    this.shardSizes = new int[n];
    for (int rank = 0; rank < n; rank++) {
      final Model model = newModel.get();
      models.add(model);
      final StatsReducer reducer;
      if (bn.training() == BnTraining.SYNC && n > 1) {
        final Collective group = syncGroups[rank / groupSize].member(rank % groupSize);
        reducer = group::allReduceSum;
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
          new SoftmaxCrossEntropy(
              train.labelPositions(), train.numClasses(), config.model().dtype());
      final Tower tower =
          new Tower(
              model,
              loss,
              config.training().optimizer().create(model.parameters(), model.trainableRanges()),
              world.member(rank));
      final TowerRuntime.Setup setup =
          new TowerRuntime.Setup(
              runId,
              rank,
              n,
              rank % devices,
              config.seed(),
              config.training().batchSize(),
              config.training().evalBatchSize(),
              train,
              validation,
              normalization,
              config.model().dtype(),
              config.data().prefetch(),
              context);
      final BlockingQueue<Command> inbox = new LinkedBlockingQueue<>();
      inboxes.add(inbox);
      final TowerRuntime runtime =
          new TowerRuntime(setup, tower, inbox, reports::add, this::abortAll);
      shardSizes[rank] = runtime.shardSize();
      final Thread thread = new Thread(runtime, "tower-" + rank);
      thread.setDaemon(true);
      threads.add(thread);
    }
    threads.forEach(Thread::start);
  }

  public int towers() {
    return models.size();
  }

  /** Samples per step of each tower, by rank. */
  public int[] shardSizes() {
    return shardSizes.clone();
  }

  /** Tower {@code rank}'s replica. Read it only between commands (all replicas are identical). */
  public Model model(final int rank) {
    return models.get(rank);
  }

  /** Sends {@code command} to every tower. */
  public void send(final Command command) {
    for (final BlockingQueue<Command> inbox : inboxes) {
      inbox.add(command);
    }
  }

  /**
   * Waits for one report from every tower and returns them by rank.
   *
   * @throws TowerFailedException naming the tower and the cause if any tower failed (the first
   *     failure that is not a consequence of another tower's)
   */
  public List<Report> collect() throws InterruptedException {
    final List<Report> round = new ArrayList<>(towers());
    while (round.size() < towers()) {
      round.add(reports.take());
    }
    final List<Report.Failed> failed =
        round.stream()
            .filter(r -> r instanceof Report.Failed)
            .map(r -> (Report.Failed) r)
            .sorted(Comparator.comparing(Report.Failed::consequence))
            .toList();
    if (!failed.isEmpty()) {
      final Report.Failed first = failed.get(0);
      throw new TowerFailedException(
          "tower " + first.rank() + " failed at step " + first.step() + ": " + first.message());
    }
    round.sort(Comparator.comparingInt(Report::rank));
    return round;
  }

  /**
   * Checks that every tower reported the same replica hash for a step.
   *
   * @throws ReplicaMismatchException naming the step and the towers that differ from tower 0
   */
  public static void checkReplicaHashes(final List<Report> round) {
    final long[] hashes =
        round.stream().mapToLong(r -> ((Report.StepDone) r).replicaHash()).toArray();
    final List<Integer> differing = new ArrayList<>();
    for (int r = 1; r < hashes.length; r++) {
      if (hashes[r] != hashes[0]) {
        differing.add(r);
      }
    }
    if (!differing.isEmpty()) {
      throw new ReplicaMismatchException(
          "replicas diverged at step "
              + ((Report.StepDone) round.get(0)).step()
              + ": towers "
              + differing
              + " differ from tower 0 (hashes "
              + Arrays.toString(hashes)
              + "). Parameters, moving statistics or optimizer state are no longer identical;"
              + " this is a bug, please report it with the run's config.yaml");
    }
  }

  private void abortAll() {
    final IllegalStateException cause = new IllegalStateException("a tower failed");
    for (final InProcessGroup g : groups) {
      g.abort(cause);
    }
  }

  @Override
  public void close() throws InterruptedException {
    send(new Command.Shutdown(runId));
    for (final Thread t : threads) {
      t.join(10_000);
    }
  }
}
