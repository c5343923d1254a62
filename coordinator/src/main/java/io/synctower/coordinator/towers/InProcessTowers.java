package io.synctower.coordinator.towers;

import io.synctower.common.backend.NativeThreads;
import io.synctower.common.comm.Collective;
import io.synctower.common.comm.InProcessGroup;
import io.synctower.common.config.RunConfig;
import io.synctower.common.data.Dataset;
import io.synctower.common.data.Normalization;
import io.synctower.common.nn.Model;
import io.synctower.common.protocol.Command;
import io.synctower.common.protocol.Report;
import io.synctower.worker.TowerRuntime;
import java.nio.file.Path;
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
  private final StallWatch stalls;
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
    this.stalls = new StallWatch(config.failure().stepDeadline());
    final int n = config.towers();
    this.cores = CoreShare.of(n);
    this.nativeThreads = new AtomicIntegerArray(n);
    final TowerAssembly assembly =
        new TowerAssembly(runId, config, train, validation, normalization);
    final InProcessGroup world = new InProcessGroup(n);
    groups.add(world);
    final int groupSize = assembly.syncGroupSize();
    final InProcessGroup[] syncGroups = new InProcessGroup[n / groupSize];
    for (int g = 0; g < syncGroups.length; g++) {
      syncGroups[g] = new InProcessGroup(groupSize);
      groups.add(syncGroups[g]);
    }
    this.models = new ArrayList<>();
    this.shardSizes = new int[n];
    for (int rank = 0; rank < n; rank++) {
      final Model model = newModel.get();
      models.add(model);
      final Collective syncGroup =
          assembly.usesSyncGroups() ? syncGroups[rank / groupSize].member(rank % groupSize) : null;
      final BlockingQueue<Command> inbox = new LinkedBlockingQueue<>();
      inboxes.add(inbox);
      final TowerRuntime runtime =
          assembly.runtime(
              rank, -1, model, world.member(rank), syncGroup, inbox, reports::add, this::abortAll);
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
    threads.forEach(Thread::start);
  }

  @Override
  public int towers() {
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
  public Model model(final int rank) {
    return models.get(rank);
  }

  @Override
  public void send(final Command command) {
    if (command instanceof Command.TrainStep) {
      stalls.sent(System.nanoTime());
    } else {
      stalls.disarm();
    }
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
  @Override
  public List<Report> collect() throws InterruptedException {
    final List<Report> round = new ArrayList<>(towers());
    while (round.size() < towers()) {
      final long deadline = stalls.deadline();
      final Report r =
          deadline == Long.MAX_VALUE
              ? reports.take()
              : reports.poll(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
      if (r == null) {
        throw stalled(round);
      }
      round.add(r);
    }
    stalls.completed(System.nanoTime());
    return Rounds.complete(round);
  }

  /**
   * The step in flight missed its deadline: aborts every collective (towers waiting in one report
   * that they stopped), then names the towers that stay silent and interrupts them.
   */
  private RuntimeException stalled(final List<Report> round) throws InterruptedException {
    // The towers late at the deadline are the ones to name, even if the abort below then lets
    // them report within the grace period (a step that was only very slow): the collectives are
    // aborted either way, so the run cannot go on with this step.
    final List<Integer> late = Rounds.silent(round, towers());
    abortAll();
    final long grace = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
    Report r;
    while (round.size() < towers()
        && (r = reports.poll(grace - System.nanoTime(), TimeUnit.NANOSECONDS)) != null) {
      round.add(r);
    }
    final List<Integer> silent = Rounds.silent(round, towers());
    silent.forEach(rank -> threads.get(rank).interrupt());
    final List<Integer> named = silent.isEmpty() ? late : silent;
    return new TowerFailedException(
        "tower(s) "
            + named
            + " stalled: the step made no progress for "
            + (3 * stalls.typicalNanos() / 1_000_000)
            + " ms (3 typical steps) + failure.stepDeadline; the others were stopped"
            + (silent.isEmpty()
                ? " (it reported after that: a step this slow needs a larger failure.stepDeadline)"
                : ""),
        Report.Cause.STALLED,
        named.get(0));
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
