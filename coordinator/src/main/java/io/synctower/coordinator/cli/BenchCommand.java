package io.synctower.coordinator.cli;

import io.synctower.common.backend.LoadedBackend;
import io.synctower.common.backend.NativeMemoryReuse;
import io.synctower.common.config.ConfigException;
import io.synctower.common.config.RunConfig;
import io.synctower.common.data.BatchAssembler;
import io.synctower.common.data.EpochPermutation;
import io.synctower.common.nn.Layer;
import io.synctower.common.nn.LayerProfile;
import io.synctower.common.nn.Model;
import io.synctower.common.nn.OpEngines;
import io.synctower.common.nn.SoftmaxCrossEntropy;
import io.synctower.common.nn.StatsReducer;
import io.synctower.common.nn.StepContext;
import io.synctower.worker.StepResult;
import io.synctower.worker.Tower;
import io.synctower.worker.assembly.Replicas;
import io.synctower.worker.assembly.TrainingData;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.apache.commons.math3.stat.descriptive.DescriptiveStatistics;
import org.bytedeco.javacpp.Pointer;
import org.nd4j.linalg.api.ndarray.INDArray;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code synctower bench ...}: performance figures, printed, never asserted. */
@Command(
    name = "bench",
    mixinStandardHelpOptions = true,
    description = "Benchmarks that print figures.",
    subcommands = {BenchCommand.Step.class, BenchAllReduce.class})
final class BenchCommand implements Runnable {
  @Override
  public void run() {
    new picocli.CommandLine(this).usage(System.out);
  }

  /** {@code synctower bench step}. */
  @Command(
      name = "step",
      mixinStandardHelpOptions = true,
      description = {
        "Time the training step of a configuration on one batch, after warm-up.",
        "Prints samples/s, ms per step split into forward, backward and optimizer (median),",
        "heap bytes allocated per step and process RSS every --report-every steps: flat figures mean the steady",
        "state allocates nothing per step.",
        "With --profile, also the median ms of each layer in each direction, the ND4J ops it calls and",
        "the engine that runs them on the loaded native build (oneDNN, OpenBLAS, libnd4j loops, Java).",
        "With --towers N (N > 1), N towers as threads of this JVM step together on their shards of",
        "the batch, each on cores/N native threads, with the gradient all-reduce and (bn.sync) SyncBN:",
        "samples/s of the whole step, and tower 0's split including the BN and gradient reductions."
      })
  static final class Step implements Callable<Integer> {
    @Mixin ConfigOptions configOptions = new ConfigOptions();

    @Option(
        names = "--warmup",
        description = "Untimed steps first, at least (default: ${DEFAULT-VALUE}).")
    int warmup = WarmUp.DEFAULT_STEPS;

    @Option(
        names = "--warmup-seconds",
        description =
            "Untimed seconds first, at least (default: ${DEFAULT-VALUE}): the JVM compiles the"
                + " step's code in its first seconds, which distorts the first steps' times;"
                + " 0 for --warmup steps only.")
    double warmupSeconds = WarmUp.DEFAULT_SECONDS;

    @Option(names = "--iterations", description = "Timed steps (default: ${DEFAULT-VALUE}).")
    int iterations = 10;

    @Option(
        names = "--report-every",
        description = "Print memory every N timed steps (default: ${DEFAULT-VALUE}).")
    int reportEvery = 5;

    @Option(names = "--batch", description = "Batch size (default: the config's).")
    Integer batch;

    @Option(
        names = "--profile",
        description =
            "Time every layer's forward and backward in the timed steps and print their medians,"
                + " with the ops and engine of each.")
    boolean profile;

    @Override
    public Integer call() throws Exception {
      final LinkedHashMap<String, String> extra = new LinkedHashMap<>();
      if (batch != null) {
        extra.put("training.batchSize", batch.toString());
      }
      final RunConfig config = configOptions.load(extra);
      final WarmUp warmUp = warmUp();
      if (config.towers() > 1) {
        return benchTowers(config, warmUp);
      }
      final TrainingData data = TrainingData.load(config, configOptions.base());
      final Model model = Replicas.newModel(config, data);
      final Tower tower =
          new Tower(
              model,
              new SoftmaxCrossEntropy(
                  data.train().labelPositions(), data.train().numClasses(), config.model().dtype()),
              config.training().optimizer().create(model.parameters(), model.trainableRanges()));
      final int n = config.training().batchSize();
      final BatchAssembler assembler = new BatchAssembler(data.train(), data.normalization());
      final INDArray x = assembler.allocate(config.model().dtype(), n);
      final int[] labels = new int[n * data.train().labelPositions()];
      assembler.fill(EpochPermutation.of(config.seed(), 0, data.train().size()), 0, n, x, labels);
      final StepContext ctx =
          new StepContext(
              true,
              config.bn().training(),
              config.bn().ghostBatch(),
              StatsReducer.LOCAL,
              config.seed(),
              0,
              0,
              n);
      // The build that really loaded (the library this process mapped), not the one asked for.
      final LoadedBackend loaded = LoadedBackend.describe();
      System.out.printf(
          Locale.ROOT,
          "bench step: %s, batch %d, dtype %s, native %s, %d cores%n",
          config.name(),
          n,
          config.model().dtype(),
          loaded.nativePlatform(),
          Runtime.getRuntime().availableProcessors());
      System.out.println(NativeMemoryReuse.describe(System.getenv()));
      final double lr = config.training().optimizer().lr();
      final int warmed =
          warmUp.run(i -> tower.trainStep(x, labels, ctx.at(i, 0, n), lr), System.out);
      final DescriptiveStatistics forward = new DescriptiveStatistics();
      final DescriptiveStatistics backward = new DescriptiveStatistics();
      final DescriptiveStatistics optimizer = new DescriptiveStatistics();
      final DescriptiveStatistics total = new DescriptiveStatistics();
      System.out.printf(
          Locale.ROOT,
          "%8s %12s %22s %16s%n",
          "step",
          "ms/step",
          "heap alloc KiB/step",
          "process RSS MiB");
      // Bytes this thread allocated on the heap (JVM counter, no sampling) and the process's
      // resident memory, which includes every off-heap ND4J buffer: both flat = no per-step leak.
      final com.sun.management.ThreadMXBean threads =
          (com.sun.management.ThreadMXBean)
              java.lang.management.ManagementFactory.getThreadMXBean();
      final long thread = Thread.currentThread().getId();
      long allocatedBefore = threads.getThreadAllocatedBytes(thread);
      int stepsSinceReport = 0;
      final LayerProfile layerTimes =
          profile ? new LayerProfile(model.layers().size(), iterations) : null;
      model.timeLayers(layerTimes);
      final long cpu0 = ProcessCpu.nanos();
      for (int i = 0; i < iterations; i++) {
        if (layerTimes != null) {
          layerTimes.beginStep();
        }
        final StepResult r = tower.trainStep(x, labels, ctx.at(warmed + i, 0, n), lr);
        forward.addValue(r.times().forwardNanos() / 1e6);
        backward.addValue(r.times().backwardNanos() / 1e6);
        optimizer.addValue(r.times().optimizerNanos() / 1e6);
        total.addValue(r.totalNanos() / 1e6);
        stepsSinceReport++;
        if ((i + 1) % reportEvery == 0 || i == iterations - 1) {
          final long allocated = threads.getThreadAllocatedBytes(thread);
          System.out.printf(
              Locale.ROOT,
              "%8d %12.1f %22.1f %16.1f%n",
              i + 1,
              total.getElement(i),
              (allocated - allocatedBefore) / 1024.0 / stepsSinceReport,
              Pointer.physicalBytes() / 1048576.0);
          allocatedBefore = allocated;
          stepsSinceReport = 0;
        }
      }
      final long cpu = ProcessCpu.nanos() - cpu0;
      final double median = total.getPercentile(50);
      System.out.printf(
          Locale.ROOT,
          "samples/s %.1f | ms/step median %.1f (p10 %.1f, p90 %.1f) = forward %.1f + backward %.1f + optimizer %.1f%n",
          n / (median / 1000),
          median,
          total.getPercentile(10),
          total.getPercentile(90),
          forward.getPercentile(50),
          backward.getPercentile(50),
          optimizer.getPercentile(50));
      ProcessCpu.print(System.out, cpu, iterations, n);
      model.timeLayers(null);
      if (layerTimes != null) {
        printProfile(model, layerTimes, loaded, forward, backward);
      }
      if (Arrays.stream(labels).anyMatch(l -> l < 0)) {
        return 1;
      }
      return 0;
    }

    private WarmUp warmUp() {
      try {
        return new WarmUp(warmup, warmupSeconds);
      } catch (IllegalArgumentException e) {
        throw new ConfigException(
            warmup < 0 ? "--warmup" : "--warmup-seconds", List.of(e.getMessage()));
      }
    }

    /** {@code --towers N}: N tower threads of one step ({@link BenchTowers}). */
    private int benchTowers(final RunConfig config, final WarmUp warmUp)
        throws InterruptedException {
      if (profile) {
        throw new ConfigException(
            "--profile",
            List.of(
                "times the layers of one tower, but --towers is "
                    + config.towers()
                    + "; drop --profile, or profile with --towers 1"));
      }
      if (config.training().batchSize() < config.towers()) {
        throw new ConfigException(
            "--towers",
            List.of(
                config.towers()
                    + " towers leave some without a sample of the batch of "
                    + config.training().batchSize()
                    + "; use at most "
                    + config.training().batchSize()
                    + " towers or a larger --batch"));
      }
      final BenchTowers towers =
          new BenchTowers(config, TrainingData.load(config, configOptions.base()));
      try {
        return towers.run(warmUp, iterations, reportEvery, System.out);
      } finally {
        towers.close();
      }
    }

    /**
     * One row per layer and direction, in the order they run (forward in layer order, backward in
     * reverse), then the layers' totals next to the step's forward and backward medians: the
     * difference is the loss (forward) and the work outside the layer loop.
     */
    private static void printProfile(
        final Model model,
        final LayerProfile times,
        final LoadedBackend loaded,
        final DescriptiveStatistics stepForward,
        final DescriptiveStatistics stepBackward) {
      final boolean cpu = "CPU".equals(loaded.backend());
      System.out.printf(
          Locale.ROOT,
          "profile: median ms per layer over %d steps, native %s, dtype %s%n",
          times.steps(),
          loaded.nativePlatform(),
          model.dataType());
      System.out.printf(
          Locale.ROOT,
          "  %-16s %-10s %-9s %10s  %-24s %s%n",
          "layer",
          "kind",
          "direction",
          "ms",
          "ops",
          "engine");
      for (int i = 0; i < model.layers().size(); i++) {
        printRow(model, times, loaded, cpu, i, false);
      }
      for (int i = model.layers().size() - 1; i >= 0; i--) {
        if (times.ranBackward(i)) {
          printRow(model, times, loaded, cpu, i, true);
        }
      }
      System.out.printf(
          Locale.ROOT,
          "profile total: layers forward %.2f of step forward %.2f ms,"
              + " layers backward %.2f of step backward %.2f ms%n",
          median(times.totalMillis(false)),
          stepForward.getPercentile(50),
          median(times.totalMillis(true)),
          stepBackward.getPercentile(50));
    }

    private static void printRow(
        final Model model,
        final LayerProfile times,
        final LoadedBackend loaded,
        final boolean cpu,
        final int i,
        final boolean backward) {
      final Layer layer = model.layers().get(i);
      final OpEngines.Engine e =
          OpEngines.of(layer, model.dataType(), loaded.nativeBuild(), cpu, backward);
      System.out.printf(
          Locale.ROOT,
          "  %-16s %-10s %-9s %10.2f  %-24s %s%n",
          layer.name(),
          layer.getClass().getSimpleName(),
          backward ? "backward" : "forward",
          median(times.millis(i, backward)),
          e.ops(),
          e.engine());
    }

    /** The same median as the step's figures (DescriptiveStatistics' 50th percentile). */
    private static double median(final double[] values) {
      return new DescriptiveStatistics(values).getPercentile(50);
    }
  }
}
