package io.synctower.coordinator.train;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;

/**
 * What a run shows in TensorBoard ({@code tensorboard --logdir RUN_DIR/tensorboard}), all against
 * the global optimizer step:
 *
 * <ul>
 *   <li>every {@code logging.everySteps} steps: {@code step/loss} (the step's mean loss over the
 *       global batch) and {@code step/lr};
 *   <li>at every epoch's end: {@code epoch/train_loss}, {@code epoch/train_acc}, {@code
 *       epoch/val_loss}, {@code epoch/val_acc} (with {@code _seq_acc} for sequence outputs), {@code
 *       epoch/lr}, {@code epoch/samples_per_s}, and the step split so far as medians in
 *       milliseconds ({@code time/step_ms}, {@code time/data_wait_ms}, {@code time/forward_ms},
 *       {@code time/backward_ms}, {@code time/bn_allreduce_ms}, {@code time/grad_allreduce_ms},
 *       {@code time/optimizer_ms}).
 * </ul>
 *
 * <p>The same figures as the console table and metrics.csv; accuracies are fractions (0-1).
 */
final class TrainingScalars implements AutoCloseable {
  private static final String[] STEP_TAGS = {"step/loss", "step/lr"};

  private final TensorBoardEvents events;
  private final int everySteps;
  private final boolean sequences;
  private final double[] stepValues = new double[2];

  private TrainingScalars(
      final TensorBoardEvents events, final int everySteps, final boolean sequences) {
    this.events = events;
    this.everySteps = everySteps;
    this.sequences = sequences;
  }

  /**
   * Scalars into a new event file in {@code dir} (a resumed run adds a file; TensorBoard reads them
   * together).
   *
   * @param sequences whether the model has several label positions (sequence accuracy is shown)
   */
  static TrainingScalars open(final Path dir, final int everySteps, final boolean sequences) {
    try {
      return new TrainingScalars(
          TensorBoardEvents.create(dir, host(), System.currentTimeMillis() / 1000.0),
          everySteps,
          sequences);
    } catch (IOException e) {
      throw new RunDirectoryException(
          "cannot create TensorBoard events in "
              + dir
              + ": "
              + RunDirectoryException.reason(e)
              + "; free space on that disk, or set logging.tensorboard: false",
          e);
    }
  }

  /** Records the step that has just finished as {@code step} (1-based, as in the step log). */
  void step(final long step, final double meanLoss, final double lr) {
    if (step % everySteps == 0) {
      stepValues[0] = meanLoss;
      stepValues[1] = lr;
      events.scalars(step, now(), STEP_TAGS, stepValues);
    }
  }

  /** Records a finished epoch, with the run's step split so far. */
  void epoch(final EpochRecord r, final StepTimings timings) {
    final String[] tags = {
      "epoch/train_loss",
      "epoch/train_acc",
      "epoch/val_loss",
      "epoch/val_acc",
      "epoch/lr",
      "epoch/samples_per_s",
      "time/step_ms",
      "time/data_wait_ms",
      "time/forward_ms",
      "time/backward_ms",
      "time/bn_allreduce_ms",
      "time/grad_allreduce_ms",
      "time/optimizer_ms"
    };
    final double[] values = {
      r.trainLoss(),
      r.trainAccuracy(),
      r.validationLoss(),
      r.validationAccuracy(),
      r.learningRate(),
      r.samplesPerSecond(),
      timings.medianMillis(),
      timings.medianMillis(StepTimings.Phase.DATA_WAIT),
      timings.medianMillis(StepTimings.Phase.FORWARD),
      timings.medianMillis(StepTimings.Phase.BACKWARD),
      timings.medianMillis(StepTimings.Phase.BN_REDUCE),
      timings.medianMillis(StepTimings.Phase.ALL_REDUCE),
      timings.medianMillis(StepTimings.Phase.OPTIMIZER)
    };
    events.scalars(r.step(), now(), tags, values);
    if (sequences) {
      events.scalars(
          r.step(),
          now(),
          new String[] {"epoch/train_seq_acc", "epoch/val_seq_acc"},
          new double[] {r.trainSequenceAccuracy(), r.validationSequenceAccuracy()});
    }
  }

  @Override
  public void close() {
    try {
      events.close();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot close " + events.file(), e);
    }
  }

  private static double now() {
    return System.currentTimeMillis() / 1000.0;
  }

  private static String host() {
    try {
      return InetAddress.getLocalHost().getHostName();
    } catch (UnknownHostException e) {
      return "localhost";
    }
  }
}
