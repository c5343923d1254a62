package io.synctower.coordinator.train;

import io.synctower.common.checkpoint.StoredCheckpoint;
import io.synctower.common.config.RunConfig;
import io.synctower.common.nn.Model;
import io.synctower.coordinator.towers.Towers;
import io.synctower.worker.assembly.TrainingData;
import java.io.PrintStream;
import java.time.Duration;
import java.util.Locale;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * What a run prints while it trains: the header (model, memory, data, tower plan, table header),
 * one table row per epoch, skipped steps, the resume line, the inference-mode check of a run
 * without a validation set, the step timings, and the optional per-epoch progress bar. Kept apart
 * from the step loop so the loop reads as the plan it carries out, and so the console text (which
 * users and tests read) is written in one place.
 */
final class TrainingConsole {
  private final PrintStream out;
  private final boolean progress;

  /**
   * @param progress whether each epoch shows a progress bar (off for logs and tests)
   */
  TrainingConsole(final PrintStream out, final boolean progress) {
    this.out = out;
    this.progress = progress;
  }

  /** What is trained, on what, and how: printed once before the first step. */
  void header(
      final Model model,
      final RunConfig config,
      final TrainingData data,
      final int batchesPerEpoch,
      final Towers towers) {
    out.printf(
        Locale.ROOT,
        "model: %,d parameters (%,d trainable), input %s, output %s, dtype %s%n",
        model.parameterCount(),
        model.trainableRanges().trainableCount(),
        model.inputShape(),
        model.outputShape(),
        config.model().dtype().name().toLowerCase(Locale.ROOT));
    out.println(ModelMemory.of(config, model.inputShape()).describe());
    out.printf(
        Locale.ROOT,
        "data: train %s, validation %s; batch %d, %d steps/epoch, optimizer %s%n",
        data.train().describe(),
        data.validation() == null ? "none" : data.validation().describe(),
        config.training().batchSize(),
        batchesPerEpoch,
        config.training().optimizer());
    out.println(TowerPlanFormat.describe(config, towers));
    out.println(TableFormat.header(data.train().labelPositions() > 1));
  }

  /** Where a resumed run goes on from. */
  void resumed(final StoredCheckpoint checkpoint, final TrainerState state) {
    out.printf(
        Locale.ROOT,
        "resuming from %s: step %d, epoch %d, batch %d%n",
        checkpoint.directory(),
        state.step(),
        state.epoch(),
        state.batchesDone());
  }

  /** An epoch's progress bar starting at {@code done} of {@code steps}; null when turned off. */
  ProgressBar progressBar(final String task, final long steps, final long done) {
    if (!progress) {
      return null;
    }
    return new ProgressBarBuilder()
        .setTaskName(task)
        .setInitialMax(steps)
        .startsFrom(done, Duration.ZERO)
        .setStyle(ProgressBarStyle.ASCII)
        .setUpdateIntervalMillis(500)
        .showSpeed()
        .setUnit(" steps", 1)
        .build();
  }

  /** One step done, with the epoch's running loss; nothing without a bar. */
  static void advance(final ProgressBar bar, final double epochLoss) {
    if (bar != null) {
      bar.step();
      bar.setExtraMessage(String.format(Locale.ROOT, " loss %.4f", epochLoss));
    }
  }

  /** A step whose update was dropped ({@code failure.onNonFinite: skip}). */
  void stepSkipped(final long step, final String nonFinite) {
    out.printf(Locale.ROOT, "step %d skipped (failure.onNonFinite: skip): %s%n", step, nonFinite);
  }

  /** The epoch's row of the table. */
  void epoch(final EpochRecord record, final boolean sequences) {
    out.println(TableFormat.row(record, sequences));
  }

  /**
   * The training set in inference mode after the last step of a run without a validation set,
   * beside the last epoch's training-mode accuracy: whether inference agrees with training.
   */
  void trainInInference(final EpochMetrics inference, final EpochRecord lastEpoch) {
    out.printf(
        Locale.ROOT,
        "training set in inference mode (moving statistics): loss %.4f, acc %.2f%%"
            + " (last epoch in training mode: acc %.2f%%)%n",
        inference.loss(),
        100 * inference.accuracy(),
        100 * lastEpoch.trainAccuracy());
  }

  /** A line the run prints as it is (a precise-BN summary, the timings). */
  void line(final String text) {
    out.println(text);
  }
}
