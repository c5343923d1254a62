package io.synctower.coordinator.experiments;

import io.synctower.common.config.RunConfig;
import io.synctower.coordinator.train.EpochRecord;
import io.synctower.coordinator.train.Trainer;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.function.Function;

/**
 * Runs the runs of a {@link ScalePlan} one after the other, each through the ordinary trainer in
 * its own subdirectory of the sweep's directory (its {@code config.yaml}, {@code metrics.csv},
 * {@code steps.csv} and, in {@code train.log}, the trainer's own log), and measures each.
 *
 * <p>Progress goes to {@code progress}: which run of how many and, when it ends, its throughput,
 * median step time and final loss. The trainer's progress bar (steps) comes on top when enabled.
 */
public final class ScaleRunner {
  /** Trains one run of the sweep: towers as threads, or worker processes. */
  @FunctionalInterface
  public interface RunExecutor {
    /**
     * Trains {@code config} with its run directory {@code runDir}, the trainer's log going to
     * {@code log}, and returns the trainer's summary.
     */
    Trainer.Summary train(RunConfig config, Path runDir, PrintStream log)
        throws InterruptedException;
  }

  private final ScalePlan plan;
  private final Function<ScalePlan.Run, RunConfig> configs;
  private final RunExecutor executor;
  private final PrintStream progress;

  /**
   * @param configs the configuration of each run (the sweep's with the run's overrides), already
   *     checked
   */
  public ScaleRunner(
      final ScalePlan plan,
      final Function<ScalePlan.Run, RunConfig> configs,
      final RunExecutor executor,
      final PrintStream progress) {
    this.plan = Objects.requireNonNull(plan, "plan");
    this.configs = Objects.requireNonNull(configs, "configs");
    this.executor = Objects.requireNonNull(executor, "executor");
    this.progress = Objects.requireNonNull(progress, "progress");
  }

  /** Runs {@code runs} in order, writing each run's files under {@code directory}. */
  public List<RunMeasurement> runAll(final List<ScalePlan.Run> runs, final Path directory)
      throws InterruptedException {
    final List<RunMeasurement> measured = new ArrayList<>();
    for (final ScalePlan.Run run : runs) {
      progress.printf(
          Locale.ROOT,
          "[%d/%d] %s, %d steps (%d warm-up)%n",
          run.index() + 1,
          runs.size(),
          run.describe(),
          plan.steps(),
          plan.warmup());
      final RunMeasurement m = run(run, directory.resolve(run.directoryName()));
      progress.printf(
          Locale.ROOT,
          "[%d/%d] done in %.1f s: %.1f samples/s, median step %.1f ms, final loss %.4f%n",
          run.index() + 1,
          runs.size(),
          m.seconds(),
          run.globalBatch() / (m.timings().medianMillis() / 1000),
          m.timings().medianMillis(),
          m.finalLoss());
      measured.add(m);
    }
    return measured;
  }

  private RunMeasurement run(final ScalePlan.Run run, final Path dir) throws InterruptedException {
    final RunConfig config = configs.apply(run);
    final long start = System.nanoTime();
    final Trainer.Summary summary;
    try {
      Files.createDirectories(dir);
      try (PrintStream log =
          new PrintStream(
              Files.newOutputStream(dir.resolve("train.log")), true, StandardCharsets.UTF_8)) {
        summary = executor.train(config, dir, log);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the run directory " + dir, e);
    }
    final double seconds = (System.nanoTime() - start) / 1e9;
    final double[] losses =
        summary.stepLosses().stream().mapToDouble(Trainer.StepLoss::loss).toArray();
    final EpochRecord last = summary.epochs().isEmpty() ? null : summary.last();
    return new RunMeasurement(
        run,
        summary.timings().skipFirst(plan.warmup()),
        losses,
        last == null ? Double.NaN : last.trainAccuracy(),
        last == null ? Double.NaN : last.validationLoss(),
        last == null ? Double.NaN : last.validationAccuracy(),
        seconds);
  }
}
