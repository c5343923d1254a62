package io.synctower.coordinator.doctor;

import io.synctower.common.config.RunConfig;
import io.synctower.common.nn.Model;
import io.synctower.coordinator.train.EpochRecord;
import io.synctower.worker.assembly.TrainingData;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Runs every {@link Check} over a run's {@link Evidence}: from the command line ({@code synctower
 * doctor --run RUN_DIR}) or, as a short summary, at the end of training.
 */
public final class Doctor {
  /** Samples the summary after training measures on: enough to see a gap, cheap to forward. */
  public static final int SAMPLES_AFTER_TRAINING = 256;

  /** The report's file in the run directory. */
  public static final String REPORT_FILE = "doctor.md";

  private Doctor() {}

  /** The checks, in report order. */
  public static List<Check> checks() {
    return List.of(
        new StaleStatisticsCheck(),
        new FrozenLayersCheck(),
        new TrainInferenceGapCheck(),
        new SmallBatchCheck(),
        new FrameworkDefaultsCheck());
  }

  /**
   * Examines the run. A check that fails with an exception becomes a WARN saying so; the others
   * still run.
   *
   * @param runDir the run directory, written into the fixes in place of {@code RUN_DIR} so they can
   *     be pasted; null to keep the placeholder
   */
  public static Report examine(final Evidence evidence, final String subject, final Path runDir) {
    final List<Finding> findings = new ArrayList<>();
    for (final Check check : checks()) {
      try {
        final Finding f = check.examine(evidence);
        findings.add(
            runDir == null
                ? f
                : new Finding(
                    f.check(),
                    f.severity(),
                    f.measured(),
                    f.why(),
                    f.fix().replace("RUN_DIR", runDir.toString()),
                    f.details()));
      } catch (RuntimeException e) {
        findings.add(
            new Finding(
                check.name(),
                Severity.WARN,
                "could not run: " + e,
                "This check's answer is unknown; the other checks are unaffected.",
                "fix what the error names, then run bin/synctower doctor --run RUN_DIR",
                Table.none()));
      }
    }
    final List<String> context =
        List.of(
            String.format(
                Locale.ROOT,
                "sample: %d of %d training samples, whole global batches of %d, dropout off",
                evidence.sampleSize(),
                evidence.data().train().size(),
                evidence.config().training().batchSize()),
            "BN statistic groups: " + evidence.groups().describe());
    return new Report(subject, context, findings);
  }

  /**
   * The summary printed after the last epoch (unless {@code doctor: false}): every check, on
   * {@value #SAMPLES_AFTER_TRAINING} training samples, one line each, the fixes of those that are
   * not OK, and {@code doctor.md} in the run directory. Never throws: a doctor that cannot run says
   * so and the run is still a success.
   *
   * @param model the trained weights (tower 0's; identical on every tower); not modified
   * @param runDir where to write {@code doctor.md}; null for none
   */
  public static void afterTraining(
      final RunConfig config,
      final TrainingData data,
      final Model model,
      final List<EpochRecord> epochs,
      final Path runDir,
      final PrintStream out) {
    if (!config.doctor()) {
      return;
    }
    try {
      final long start = System.nanoTime();
      final Evidence evidence =
          new Evidence(config, model, data, epochs, SAMPLES_AFTER_TRAINING, Progress.NONE);
      final Report report =
          examine(evidence, runDir == null ? "this run" : runDir + ", end of training", runDir);
      final String written = write(report, runDir);
      out.print(TerminalReport.summary(report, false));
      out.printf(
          Locale.ROOT,
          "doctor: %.1f s%s; `doctor: false` (or --no-doctor) turns this off%n",
          (System.nanoTime() - start) / 1e9,
          written);
    } catch (RuntimeException e) {
      out.println("doctor: could not run (" + e + "); the training itself completed");
    }
  }

  private static String write(final Report report, final Path runDir) {
    if (runDir == null) {
      return "";
    }
    final Path file = runDir.resolve(REPORT_FILE);
    try {
      Files.writeString(file, MarkdownReport.render(report));
      return "; full report "
          + file
          + " (bin/synctower doctor --run "
          + runDir
          + " for more samples)";
    } catch (IOException e) {
      return "; could not write " + file + ": " + e.getMessage();
    }
  }
}
