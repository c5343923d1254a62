package io.synctower.coordinator.cli;

import io.synctower.common.backend.LoadedBackend;
import io.synctower.common.backend.NativeMemoryReuse;
import io.synctower.common.bn.TimedStatsReducer;
import io.synctower.common.comm.Collective;
import io.synctower.common.comm.InProcessGroup;
import io.synctower.common.config.RunConfig;
import io.synctower.common.data.BatchAssembler;
import io.synctower.common.data.EpochPermutation;
import io.synctower.common.data.Shards;
import io.synctower.common.nn.Model;
import io.synctower.common.nn.SoftmaxCrossEntropy;
import io.synctower.common.nn.StatsReducer;
import io.synctower.common.nn.StepContext;
import io.synctower.coordinator.towers.CoreShare;
import io.synctower.worker.StepResult;
import io.synctower.worker.Tower;
import io.synctower.worker.assembly.InProcessGroups;
import io.synctower.worker.assembly.Replicas;
import io.synctower.worker.assembly.SyncGroups;
import io.synctower.worker.assembly.TowerAssembly;
import io.synctower.worker.assembly.TrainingData;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.commons.math3.stat.descriptive.DescriptiveStatistics;
import org.bytedeco.javacpp.Pointer;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * {@code bench step --towers N}: one training step of N towers as threads of this JVM, timed as the
 * whole (from handing the towers the step to the last tower's answer). Each tower holds its shard
 * of the same fixed batch and steps with the world all-reduce and, with SyncBN, its sync group, on
 * its share of the cores ({@link CoreShare}): the step {@code train} runs on threads, without data
 * loading and the coordinator's messages.
 */
final class BenchTowers {
  private final RunConfig config;
  private final List<Tower> towers = new ArrayList<>();
  private final List<INDArray> inputs = new ArrayList<>();
  private final List<int[]> labels = new ArrayList<>();
  private final List<StepContext> contexts = new ArrayList<>();
  private final List<InProcessGroup> groups = new ArrayList<>();
  private final CoreShare cores;
  private final List<ExecutorService> threads = new ArrayList<>();

  /** Builds N identical replicas (same seed) and their shards of the config's first batch. */
  BenchTowers(final RunConfig config, final TrainingData data) {
    this.config = config;
    final int n = config.towers();
    final int batch = config.training().batchSize();
    final TowerAssembly assembly = new TowerAssembly(0, config, data);
    final SyncGroups layout = assembly.syncGroups();
    final InProcessGroups local = new InProcessGroups();
    final BatchAssembler assembler = new BatchAssembler(data.train(), data.normalization());
    final int[] order = EpochPermutation.of(config.seed(), 0, data.train().size());
    this.cores = CoreShare.of(n);
    for (int rank = 0; rank < n; rank++) {
      final Model model = Replicas.newModel(config, data);
      towers.add(
          new Tower(
              model,
              new SoftmaxCrossEntropy(
                  data.train().labelPositions(), data.train().numClasses(), config.model().dtype()),
              config.training().optimizer().create(model.parameters(), model.trainableRanges()),
              layout.openWorld(local.forRank(rank), rank)));
      final int offset = Shards.offset(batch, n, rank);
      final int size = Shards.size(batch, n, rank);
      final INDArray x = assembler.allocate(config.model().dtype(), size);
      final int[] y = new int[size * data.train().labelPositions()];
      assembler.fill(order, offset, size, x, y);
      inputs.add(x);
      labels.add(y);
      final StatsReducer reducer;
      if (assembly.usesSyncGroups()) {
        final Collective group = layout.openSyncGroup(local.forRank(rank), rank);
        reducer =
            new TimedStatsReducer(StatsReducer.of(group.rank(), group.size(), group::allReduceSum));
      } else {
        reducer = StatsReducer.LOCAL;
      }
      contexts.add(
          new StepContext(
              true,
              config.bn().training(),
              config.bn().ghostBatch(),
              reducer,
              config.seed(),
              0,
              offset,
              batch));
      // One thread per tower for the whole run, sized to its share once (as a tower thread is).
      final String name = "bench-tower-" + rank;
      threads.add(
          Executors.newSingleThreadExecutor(
              body -> {
                final Thread t = new Thread(cores.wrap(body), name);
                t.setDaemon(true);
                return t;
              }));
    }
    groups.addAll(local.all());
  }

  /** Runs warm-up and timed steps and prints the figures; returns the exit code. */
  int run(final WarmUp warmUp, final int iterations, final int reportEvery, final PrintStream out)
      throws InterruptedException {
    final int n = towers.size();
    final int batch = config.training().batchSize();
    final LoadedBackend loaded = LoadedBackend.describe();
    out.printf(
        Locale.ROOT,
        "bench step: %s, batch %d on %d towers as threads (shards %s), dtype %s, bn %s, native %s,"
            + " %d cores, %s native threads per tower%n",
        config.name(),
        batch,
        n,
        shardList(batch, n),
        config.model().dtype(),
        config.bn().training().name().toLowerCase(Locale.ROOT),
        loaded.nativePlatform(),
        Runtime.getRuntime().availableProcessors(),
        cores.applied()
            ? Integer.toString(cores.perTower())
            : "OMP_NUM_THREADS=" + System.getenv("OMP_NUM_THREADS"));
    out.println(NativeMemoryReuse.describe(System.getenv()));
    final int warmed = warmUp.run(this::step, out);
    final DescriptiveStatistics total = new DescriptiveStatistics();
    final DescriptiveStatistics forward = new DescriptiveStatistics();
    final DescriptiveStatistics backward = new DescriptiveStatistics();
    final DescriptiveStatistics bnReduce = new DescriptiveStatistics();
    final DescriptiveStatistics allReduce = new DescriptiveStatistics();
    final DescriptiveStatistics optimizer = new DescriptiveStatistics();
    out.printf(Locale.ROOT, "%8s %12s %16s%n", "step", "ms/step", "process RSS MiB");
    final long cpu0 = ProcessCpu.nanos();
    for (int i = 0; i < iterations; i++) {
      final long t0 = System.nanoTime();
      final StepResult r = step(warmed + i);
      total.addValue((System.nanoTime() - t0) / 1e6);
      forward.addValue(r.times().forwardNanos() / 1e6);
      backward.addValue(r.times().backwardNanos() / 1e6);
      bnReduce.addValue(r.times().bnReduceNanos() / 1e6);
      allReduce.addValue(r.times().allReduceNanos() / 1e6);
      optimizer.addValue(r.times().optimizerNanos() / 1e6);
      if ((i + 1) % reportEvery == 0 || i == iterations - 1) {
        out.printf(
            Locale.ROOT,
            "%8d %12.1f %16.1f%n",
            i + 1,
            total.getElement(i),
            Pointer.physicalBytes() / 1048576.0);
      }
    }
    final long cpu = ProcessCpu.nanos() - cpu0;
    final double median = total.getPercentile(50);
    out.printf(
        Locale.ROOT,
        "samples/s %.1f | ms/step median %.1f (p10 %.1f, p90 %.1f); tower 0: forward %.1f +"
            + " backward %.1f + BN reduce %.1f + all-reduce %.1f + optimizer %.1f%n",
        batch / (median / 1000),
        median,
        total.getPercentile(10),
        total.getPercentile(90),
        forward.getPercentile(50),
        backward.getPercentile(50),
        bnReduce.getPercentile(50),
        allReduce.getPercentile(50),
        optimizer.getPercentile(50));
    ProcessCpu.print(out, cpu, iterations, batch);
    return 0;
  }

  /** One step on every tower at once; tower 0's result once all have finished. */
  private StepResult step(final long step) throws InterruptedException {
    final double lr = config.training().optimizer().lr();
    final List<Future<StepResult>> running = new ArrayList<>(towers.size());
    for (int r = 0; r < towers.size(); r++) {
      final int rank = r;
      running.add(
          threads
              .get(rank)
              .submit(
                  () -> {
                    final StepContext c = contexts.get(rank);
                    return towers
                        .get(rank)
                        .trainStep(
                            inputs.get(rank),
                            labels.get(rank),
                            c.at(step, c.shardOffset(), c.globalBatch()),
                            lr);
                  }));
    }
    StepResult first = null;
    for (int r = 0; r < running.size(); r++) {
      try {
        final StepResult result = running.get(r).get();
        if (r == 0) {
          first = result;
        }
      } catch (ExecutionException e) {
        // The others may wait in a collective for the tower that failed: release them.
        groups.forEach(g -> g.abort(e.getCause()));
        throw new IllegalStateException(
            "bench step: tower " + r + " failed: " + e.getCause(), e.getCause());
      }
    }
    return first;
  }

  /** Stops the tower threads and gives OpenBLAS its thread count back. */
  void close() {
    threads.forEach(ExecutorService::shutdownNow);
    cores.close();
  }

  private static String shardList(final int batch, final int n) {
    final StringBuilder s = new StringBuilder();
    for (int r = 0; r < n; r++) {
      s.append(r == 0 ? "" : "+").append(Shards.size(batch, n, r));
    }
    return s.toString();
  }
}
