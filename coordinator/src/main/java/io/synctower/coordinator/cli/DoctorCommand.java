package io.synctower.coordinator.cli;

import io.synctower.common.checkpoint.CheckpointStore;
import io.synctower.common.checkpoint.NoCheckpointException;
import io.synctower.common.checkpoint.StoredCheckpoint;
import io.synctower.common.checkpoint.TrainingSnapshot;
import io.synctower.common.config.ConfigException;
import io.synctower.common.config.ConfigLoader;
import io.synctower.common.config.RunConfig;
import io.synctower.common.nn.Model;
import io.synctower.coordinator.doctor.Doctor;
import io.synctower.coordinator.doctor.Evidence;
import io.synctower.coordinator.doctor.MarkdownReport;
import io.synctower.coordinator.doctor.Progress;
import io.synctower.coordinator.doctor.Report;
import io.synctower.coordinator.doctor.TerminalReport;
import io.synctower.coordinator.train.EpochRecord;
import io.synctower.coordinator.train.Preflight;
import io.synctower.coordinator.train.TrainerState;
import io.synctower.worker.assembly.Replicas;
import io.synctower.worker.assembly.TrainingData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code synctower doctor}: what is wrong with a run's batch normalization, and the fix. */
@Command(
    name = "doctor",
    mixinStandardHelpOptions = true,
    description = {
      "Examine a run's BN: stale moving statistics, frozen layers that would normalize with batch",
      "statistics, train-mode vs inference-mode gap on training samples (and whether precise BN",
      "closes it), statistic groups too small for BN, and defaulted settings that other",
      "frameworks set differently. Prints one line per check and writes RUN_DIR/doctor.md.",
      "Exit code: 0 no problem (warnings allowed), 4 a PROBLEM found, 2 bad input."
    })
final class DoctorCommand implements Callable<Integer> {
  @Option(
      names = "--run",
      required = true,
      paramLabel = "RUN_DIR",
      description =
          "The run directory (config.yaml, metrics.csv, checkpoints/): its latest checkpoint is examined.")
  Path run;

  @Option(
      names = "--samples",
      paramLabel = "N",
      defaultValue = "512",
      description = {
        "Training samples to measure on (default ${DEFAULT-VALUE}), rounded down to whole global",
        "batches (at least one) so that every BN statistic group has its training size."
      })
  int samples;

  @Option(names = "--no-progress", description = "No progress bar.")
  boolean noProgress;

  @Override
  public Integer call() {
    if (samples < 1) {
      throw new ConfigException(
          "--samples",
          List.of(samples + " is not a sample count; give N >= 1, e.g. --samples 512"));
    }
    if (!Files.isDirectory(run)) {
      throw new ConfigException(
          "--run",
          List.of(run + " is not a directory; give the run directory training printed at its end"));
    }
    final StoredCheckpoint checkpoint = latestCheckpoint();
    final Path configFile = run.resolve("config.yaml");
    final RunConfig config =
        Files.exists(configFile)
            ? ConfigLoader.load(configFile, Map.of())
            : ConfigLoader.parse(
                checkpoint.text("config.yaml"),
                checkpoint.file("config.yaml").toString(),
                Map.of());
    final TrainerState state =
        TrainerState.parse(
            checkpoint.text("trainer.yaml"), checkpoint.file("trainer.yaml").toString());
    final Path base = state.dataBase().isEmpty() ? Path.of("") : Path.of(state.dataBase());
    final TrainingData data = TrainingData.load(config, base);
    Preflight.check(config, data, configFile.toString());
    final Model model = Replicas.newModel(config, TrainingSnapshot.inputShape(checkpoint));
    TrainingSnapshot.restoreWeights(checkpoint, model);

    final Evidence evidence =
        new Evidence(
            config, model, data, epochs(), samples, noProgress ? Progress.NONE : new Bar());
    final Report report =
        Doctor.examine(evidence, run + ", checkpoint step " + checkpoint.step(), run);
    System.out.print(TerminalReport.render(report, CommandLine.Help.Ansi.AUTO.enabled()));
    final Path file = run.resolve(Doctor.REPORT_FILE);
    try {
      Files.writeString(file, MarkdownReport.render(report));
      System.out.println("full report: " + file);
    } catch (IOException e) {
      System.out.println("could not write " + file + ": " + e.getMessage());
    }
    return report.exitCode();
  }

  private StoredCheckpoint latestCheckpoint() {
    try {
      return new CheckpointStore(run.resolve("checkpoints")).loadLatest();
    } catch (NoCheckpointException e) {
      throw new ConfigException(
          "--run",
          List.of(
              run
                  + " has no checkpoint (nothing in "
                  + run.resolve("checkpoints")
                  + "): the doctor examines a checkpoint's weights, and a run writes one at its"
                  + " end; give a run directory that finished or passed a checkpoint"));
    }
  }

  /** metrics.csv's rows; empty (the checks then do without) when it is missing or unreadable. */
  private List<EpochRecord> epochs() {
    final List<EpochRecord> rows = new ArrayList<>();
    try {
      final List<String> lines = Files.readAllLines(run.resolve("metrics.csv"));
      for (final String line : lines.subList(Math.min(1, lines.size()), lines.size())) {
        if (!line.isBlank()) {
          rows.add(EpochRecord.parseCsv(line));
        }
      }
      return rows;
    } catch (IOException | RuntimeException e) {
      System.out.println("metrics.csv not read (" + e.getMessage() + "); going on without it");
      return List.of();
    }
  }

  /** The sample passes as a progress bar on stderr. */
  private static final class Bar implements Progress {
    private ProgressBar bar;

    @Override
    public void start(final String task, final long forwards) {
      bar =
          new ProgressBarBuilder()
              .setTaskName("doctor: " + task)
              .setInitialMax(forwards)
              .setStyle(ProgressBarStyle.ASCII)
              .setUpdateIntervalMillis(300)
              .setUnit(" forwards", 1)
              .build();
    }

    @Override
    public void advance() {
      bar.step();
    }

    @Override
    public void done() {
      bar.close();
    }
  }
}
