package io.synctower.coordinator.towers;

import io.synctower.common.backend.NativeThreads;
import io.synctower.common.comm.InProcessGroup;
import io.synctower.common.config.RunConfig;
import io.synctower.common.data.Dataset;
import io.synctower.common.data.Normalization;
import io.synctower.common.nn.Model;
import io.synctower.common.protocol.Command;
import io.synctower.common.protocol.Report;
import io.synctower.worker.TowerRuntime;
import io.synctower.worker.assembly.InProcessGroups;
import io.synctower.worker.assembly.TowerAssembly;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.function.Supplier;
import org.nd4j.linalg.factory.Nd4j;

/**
 * N towers as threads of this JVM (one per device: the single-node multi-GPU case), driven by the
 * same {@link Command}/{@link Report} messages a remote tower receives.
 *
 * <pre>{@code
 * try (InProcessTowers towers = new InProcessTowers(runId, config, ...)) {  // threads start here
 *   towers.send(new Command.TrainStep(...));
 *   List<Report> reports = towers.collect();  // one per tower, by rank; throws if one failed
 * }
 * }</pre>
 *
 * <p>Collectives: one {@link InProcessGroup} over all towers for the gradient and union-statistic
 * all-reduce, and one per SyncBN sync group for the BN statistics. Threads: the caller (the
 * coordinator) only enqueues commands and takes reports; each replica is touched by its own tower
 * thread only. Each tower thread runs its native ops on its share of the cores ({@link CoreShare}):
 * {@code cores / N} OpenMP threads, as a worker process of N on this host would.
 */
public final class InProcessTowers implements Towers {
  private final long runId;
  private final List<Model> models;
  private final List<BlockingQueue<Command>> inboxes = new ArrayList<>();
  private final BlockingQueue<Report> reports = new LinkedBlockingQueue<>();
  private final List<Thread> threads = new ArrayList<>();
  private final List<InProcessGroup> groups = new ArrayList<>();
  private final int[] shardSizes;
  private final RoundCollector rounds;
  private final CoreShare cores;
  private final AtomicIntegerArray nativeThreads;

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
    // Threads of this JVM hear an abort at once: one second is plenty for their reports.
    this.rounds =
        new RoundCollector(
            config.towers(), config.failure().stepDeadline(), Duration.ofSeconds(1), new Threads());
    final int n = config.towers();
    this.cores = CoreShare.of(n);
    this.nativeThreads = new AtomicIntegerArray(n);
    final TowerAssembly assembly =
        new TowerAssembly(runId, config, train, validation, normalization);
    final InProcessGroups local = new InProcessGroups();
    this.models = new ArrayList<>();
    this.shardSizes = new int[n];
    for (int rank = 0; rank < n; rank++) {
      final Model model = newModel.get();
      models.add(model);
      final BlockingQueue<Command> inbox = new LinkedBlockingQueue<>();
      inboxes.add(inbox);
      final TowerRuntime runtime =
          assembly.runtime(
              rank, -1, model, local.forRank(rank), inbox, reports::add, this::abortAll);
      shardSizes[rank] = runtime.shardSize();
      final int r = rank;
      final Thread thread =
          new Thread(
              cores.wrap(
                  () -> {
                    nativeThreads.set(r, NativeThreads.currentThread());
                    runtime.run();
                  }),
              "tower-" + rank);
      thread.setDaemon(true);
      threads.add(thread);
    }
    groups.addAll(local.all());
    threads.forEach(Thread::start);
  }

  @Override
  public int count() {
    return models.size();
  }

  @Override
  public String describe() {
    return "threads of this JVM";
  }

  @Override
  public String placement(final int rank) {
    final int devices = Nd4j.getAffinityManager().getNumberOfDevices();
    final String backend = Nd4j.getBackend().getClass().getSimpleName().replace("Backend", "");
    return backend + " device " + (rank % devices);
  }

  @Override
  public int[] shardSizes() {
    return shardSizes.clone();
  }

  @Override
  public void copyWeightsTo(final Model model, final Path scratchDir) {
    if (model != models.get(0)) {
      model.parameters().assign(models.get(0).parameters());
      model.state().assign(models.get(0).state());
    }
  }

  @Override
  public void loadWeightsFrom(final Model model) {
    for (final Model replica : models) {
      if (replica != model) {
        replica.parameters().assign(model.parameters());
        replica.state().assign(model.state());
      }
    }
  }

  /**
   * The OpenMP team size tower {@code rank}'s thread runs its ops with, as that thread read it back
   * from libgomp when it started (0 before it started, or on a non-CPU backend). Valid once the
   * tower has answered a command.
   */
  public int nativeThreads(final int rank) {
    return nativeThreads.get(rank);
  }

  /** The core share the tower threads run with. */
  public CoreShare coreShare() {
    return cores;
  }

  /** Tower {@code rank}'s replica. Read it only between commands (all replicas are identical). */
  @Override
  public Model model(final int rank) {
    return models.get(rank);
  }

  @Override
  public void send(final Command command) {
    rounds.sent(command);
    for (final BlockingQueue<Command> inbox : inboxes) {
      inbox.add(command);
    }
  }

  /**
   * Waits for one report from every tower and returns them by rank ({@link RoundCollector}).
   *
   * @throws TowerFailedException naming the tower and the cause if any tower failed (the first
   *     failure that is not a consequence of another tower's) or stalled
   */
  @Override
  public List<Report> collect() throws InterruptedException {
    return rounds.collect();
  }

  /** The tower threads' report queue, as the round collector reads it. */
  private final class Threads implements RoundCollector.Transport {
    @Override
    public Report poll(final long timeoutNanos) throws InterruptedException {
      return timeoutNanos == RoundCollector.FOREVER
          ? reports.take()
          : reports.poll(timeoutNanos, TimeUnit.NANOSECONDS);
    }

    /** Aborts every collective: towers waiting in one report that they stopped. */
    @Override
    public void abortStep(final String reason) {
      abortAll();
    }

    @Override
    public void stopSilent(final List<Integer> ranks) {
      ranks.forEach(rank -> threads.get(rank).interrupt());
    }

    @Override
    public String describe(final RoundCollector.Stall stall) {
      return "tower(s) "
          + stall.towers()
          + " stalled: the step made no progress for "
          + (3 * stall.typicalNanos() / 1_000_000)
          + " ms (3 typical steps) + failure.stepDeadline; the others were stopped"
          + (stall.reportedLate()
              ? " (it reported after that: a step this slow needs a larger failure.stepDeadline)"
              : "");
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
    cores.close();
  }
}
