package io.synctower.coordinator.cli;

import io.synctower.common.checkpoint.FileTrees;
import io.synctower.common.config.ConfigException;
import io.synctower.common.config.RunConfig;
import io.synctower.coordinator.experiments.BnMode;
import io.synctower.coordinator.experiments.ScaleExperiment;
import io.synctower.coordinator.experiments.ScalePlan;
import io.synctower.coordinator.experiments.ScaleRunner;
import io.synctower.coordinator.experiments.ScalingMode;
import io.synctower.coordinator.experiments.SweepSetup;
import io.synctower.coordinator.train.Preflight;
import io.synctower.coordinator.train.Trainer;
import io.synctower.worker.assembly.TrainingData;
import io.synctower.worker.transport.TransportKind;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.nd4j.linalg.api.buffer.DataType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code synctower scale}: the same model at several tower counts, measured and reported. */
@Command(
    name = "scale",
    mixinStandardHelpOptions = true,
    description = {
      "Train the same model at each tower count (and BN mode) for a few steps from the same seed,",
      "and write to the run directory: scaling.csv (throughput, step-time median and p95, the step",
      "split, efficiency, final loss), PNG charts (throughput, efficiency, step split, loss curves),",
      "and report.md with the findings, a fit of step time vs towers and its extrapolation."
    })
final class ScaleCommand implements Callable<Integer> {
  /** Which BN modes each tower count runs with. */
  enum SyncBn {
    ON,
    OFF,
    BOTH
  }

  /** Where the towers of each run live. */
  enum Transport {
    THREADS,
    IPC,
    UDP
  }

  @Option(
      names = "--config",
      paramLabel = "FILE",
      description = "Run configuration (YAML). Default: the embedded quick start.")
  Path config;

  @Option(
      names = "--set",
      paramLabel = "KEY=VALUE",
      description = "Override any configuration key, e.g. --set model.dtype=float64 (repeatable).")
  Map<String, String> set = new LinkedHashMap<>();

  @Option(names = "--seed", description = "Run seed, the same for every run of the sweep.")
  Long seed;

  @Option(
      names = "--towers",
      paramLabel = "N,N,...",
      defaultValue = "1,2,4",
      description = "Tower counts, comma-separated (default ${DEFAULT-VALUE}).")
  String towers;

  @Option(
      names = "--mode",
      defaultValue = "STRONG",
      description = {
        "strong: training.batchSize is the global batch at every tower count (default);",
        "weak: training.batchSize is the per-tower batch (global = batchSize x towers)."
      })
  ScalingMode mode;

  @Option(
      names = "--sync-bn",
      paramLabel = "on|off|both",
      description = {
        "SyncBN on or off in every run, or both (each tower count runs twice).",
        "Default: the config's bn.sync."
      })
  SyncBn syncBn;

  @Option(
      names = "--steps",
      defaultValue = "50",
      description =
          "Optimizer steps per run, warm-up included (default ${DEFAULT-VALUE}: a 1,2,4 sweep of"
              + " the quick start takes about a minute on 2 cores).")
  int steps;

  @Option(
      names = "--warmup",
      defaultValue = "10",
      description = {
        "First steps of each run left out of the timings: JIT compilation and first-touch",
        "allocation make them slow (default ${DEFAULT-VALUE})."
      })
  int warmup;

  @Option(
      names = "--warmup-seconds",
      defaultValue = "10",
      description = {
        "With --transport threads: untimed runs of the first run's configuration for at least",
        "this many seconds before the sweep, discarded (default ${DEFAULT-VALUE}; 0: none). All runs",
        "share one JVM, which compiles the step's code during its first seconds: without this the",
        "first run pays for it alone and the later tower counts look faster than they are."
      })
  double warmupSeconds;

  @Option(
      names = "--run-dir",
      paramLabel = "DIR",
      description = "Where to write (default: runs/scale-<name>-<timestamp>).")
  Path runDir;

  @Option(names = "--no-progress", description = "No per-step progress bar.")
  boolean noProgress;

  @Option(
      names = "--transport",
      defaultValue = "THREADS",
      description = {
        "threads: towers as threads of this JVM (default); ipc or udp: one worker process per",
        "tower on this host, as `launch` starts them, talking over Aeron shared memory or UDP."
      })
  Transport transport;

  @Mixin LocalWorkerOptions workerOptions = new LocalWorkerOptions();

  @Override
  public Integer call() throws Exception {
    // Charts are drawn with AWT; a sweep runs on servers without a display.
    System.setProperty("java.awt.headless", "true");
    if (transport != Transport.THREADS) {
      workerOptions.check();
    }
    final ConfigOptions configOptions = configOptions();
    final ConfigOptions.Checked checked = configOptions.loadChecked(Map.of());
    final RunConfig base = checked.config();
    final TrainingData data = checked.data();
    final ScalePlan plan =
        new ScalePlan(ScalePlan.parseTowers(towers), bnModes(base), mode, steps, warmup);
    final WarmUp jvmWarmUp = jvmWarmUp();
    final List<String> problems = plan.problems(base);
    if (!problems.isEmpty()) {
      throw new ConfigException("the scale command's options", problems);
    }
    final List<ScalePlan.Run> runs = plan.runs(base.training().batchSize());
    final Map<ScalePlan.Run, RunConfig> configs = new LinkedHashMap<>();
    final List<String> runProblems = new ArrayList<>();
    for (final ScalePlan.Run run : runs) {
      final String source = configOptions.source() + " for " + run.describe();
      try {
        final RunConfig c = base.withOverrides(plan.overrides(run, data.train().size()), source);
        Preflight.check(c, data, source);
        configs.put(run, c);
      } catch (ConfigException e) {
        runProblems.add(e.getMessage());
      }
    }
    if (!runProblems.isEmpty()) {
      // Every run is checked before the first one starts: a sweep fails now, not an hour in.
      throw new ConfigException("the sweep", runProblems);
    }
    final Path dir = runDir != null ? runDir : defaultRunDir(base);
    final SweepSetup setup =
        new SweepSetup(
            base.name(),
            plan,
            base.training().batchSize(),
            base.model().dtype() == DataType.DOUBLE ? "float64" : "float32",
            transport == Transport.THREADS
                ? "in-process threads"
                : "worker processes over Aeron " + transport.name().toLowerCase(Locale.ROOT),
            Runtime.getRuntime().availableProcessors());
    final ScaleRunner.RunExecutor executor =
        transport == Transport.THREADS
            ? threadsExecutor(data, configOptions, !noProgress)
            : (c, d, log) -> trainWithWorkers(c, data, d, log, configOptions.base());
    System.out.printf(
        Locale.ROOT,
        "scale: %d runs (%s scaling, towers %s, %s), %d steps each, writing %s%n",
        runs.size(),
        mode.label(),
        plan.towers(),
        String.join(" and ", plan.bnModes().stream().map(BnMode::title).toList()),
        steps,
        dir);
    if (setup.oversubscribed()) {
      System.out.printf(
          Locale.ROOT,
          "scale: note: up to %d towers on %d cores: towers will share cores (the report"
              + " separates this contention from communication)%n",
          setup.maxTowers(),
          setup.cores());
    }
    if (transport == Transport.THREADS && warmupSeconds > 0) {
      warmUpJvm(jvmWarmUp, configs.get(runs.get(0)), threadsExecutor(data, configOptions, false));
    }
    final ScaleExperiment.Outcome outcome =
        new ScaleExperiment(
                setup, new ScaleRunner(plan, configs::get, executor, System.out), System.out)
            .run(runs, dir);
    System.out.println("scaling.csv: " + outcome.csv());
    System.out.println("report: " + outcome.report());
    return 0;
  }

  /**
   * {@code --warmup-seconds} as a {@link WarmUp} of at least one run, or the reason it is refused.
   */
  private WarmUp jvmWarmUp() {
    try {
      return new WarmUp(1, warmupSeconds);
    } catch (IllegalArgumentException e) {
      throw new ConfigException("--warmup-seconds", List.of(e.getMessage()));
    }
  }

  /** Runs of the sweep with towers as threads of this JVM, through the ordinary trainer. */
  private static ScaleRunner.RunExecutor threadsExecutor(
      final TrainingData data, final ConfigOptions configOptions, final boolean progress) {
    return (c, d, log) -> {
      try (Trainer trainer =
          new Trainer(c, data, new Trainer.Options(d, progress, log, configOptions.base()))) {
        return TrainCommand.trainAndExamine(trainer);
      }
    };
  }

  /**
   * Untimed runs of {@code first} (the sweep's first run, towers as threads) until {@code warmUp}
   * is over, in a scratch directory deleted afterwards: the sweep's runs then all start with the
   * step's code compiled.
   */
  private static void warmUpJvm(
      final WarmUp warmUp, final RunConfig first, final ScaleRunner.RunExecutor executor)
      throws InterruptedException, IOException {
    System.out.printf(
        Locale.ROOT,
        "scale: warming up the JVM for at least %s s with untimed runs of the first run's"
            + " configuration (discarded)%n",
        warmUp.seconds());
    final long start = System.nanoTime();
    final Path scratch = Files.createTempDirectory("synctower-scale-warm-up-");
    final int runs;
    try (PrintStream discard = new PrintStream(OutputStream.nullOutputStream())) {
      runs = warmUp.runQuietly(i -> executor.train(first, scratch.resolve("run-" + i), discard));
    } finally {
      FileTrees.delete(scratch);
    }
    System.out.printf(
        Locale.ROOT,
        "scale: JVM warm-up: %d untimed run%s in %.1f s%n",
        runs,
        runs == 1 ? "" : "s",
        (System.nanoTime() - start) / 1e9);
  }

  /** One run of the sweep with a worker process per tower, started and stopped like launch. */
  private Trainer.Summary trainWithWorkers(
      final RunConfig c,
      final TrainingData data,
      final Path dir,
      final PrintStream log,
      final Path dataBase)
      throws InterruptedException {
    final TransportKind kind = TransportKind.valueOf(transport.name());
    final LocalLaunch.Workers workers = workerOptions.workers(c.towers(), kind, dataBase, log);
    try {
      return LocalLaunch.run(
          workers,
          (aeron, bind, secret, onJoined) -> {
            try (Trainer trainer =
                RemoteTraining.trainer(
                    c,
                    data,
                    new Trainer.Options(dir, !noProgress, log, dataBase),
                    workerOptions.transport,
                    aeron,
                    kind,
                    bind,
                    secret,
                    onJoined,
                    "worker processes do not rejoin a run yet; run the sweep again, or use"
                        + " --transport threads for in-process recovery")) {
              return TrainCommand.trainAndExamine(trainer);
            }
          });
    } catch (InterruptedException | RuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw new IllegalStateException(
          "could not start the worker processes of " + dir + ": " + e.getMessage(), e);
    }
  }

  private List<BnMode> bnModes(final RunConfig base) {
    if (syncBn == null) {
      return List.of(BnMode.of(base.bn().sync()));
    }
    return switch (syncBn) {
      case ON -> List.of(BnMode.SYNC);
      case OFF -> List.of(BnMode.LOCAL);
      case BOTH -> List.of(BnMode.SYNC, BnMode.LOCAL);
    };
  }

  /** The shared configuration loading, fed with this command's --config, --set and --seed. */
  private ConfigOptions configOptions() {
    final ConfigOptions options = new ConfigOptions();
    options.config = config;
    options.set = set;
    options.seed = seed;
    return options;
  }

  private static Path defaultRunDir(final RunConfig config) {
    return Path.of(
        "runs",
        "scale-"
            + config.name()
            + "-"
            + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
  }
}
