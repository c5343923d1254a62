package io.synctower.coordinator.cli;

import io.aeron.Aeron;
import io.synctower.common.checkpoint.CheckpointException;
import io.synctower.common.config.RunConfig;
import io.synctower.common.nn.Model;
import io.synctower.coordinator.cluster.RemoteTowers;
import io.synctower.coordinator.towers.TowerFailedException;
import io.synctower.coordinator.towers.Towers;
import io.synctower.coordinator.train.Trainer;
import io.synctower.worker.assembly.TrainingData;
import io.synctower.worker.transport.TransportKind;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.function.Consumer;

/**
 * The coordinator's side of a run with worker processes, shared by {@code coordinator} and {@code
 * launch}: given the checked configuration and data (for the plan and the log), waits for the
 * towers to join over {@code aeron}, loads the checkpoint into them when the run is resumed (each
 * worker reads it from the run directory, which must be on a file system every host sees), trains,
 * and writes what the run options ask for.
 */
final class RemoteTraining {
  private RemoteTraining() {}

  /**
   * @param start the run's configuration and datasets, already through {@link
   *     io.synctower.coordinator.train.Preflight}, its run directory (owned by this process) and
   *     for a resumed run its checkpoint
   * @param command the command that runs it ({@code launch} or {@code coordinator}), for the
   *     message that says how to continue after a lost worker
   */
  static int run(
      final RunStart start,
      final String command,
      final RunOptions run,
      final TransportOptions transport,
      final Aeron aeron,
      final TransportKind kind,
      final String bindEndpoint,
      final byte[] secret,
      final Consumer<RemoteTowers> onJoined)
      throws InterruptedException {
    final String howToContinue = howToContinue(command, start.dir());
    try (Trainer trainer =
        trainer(
            start.config(),
            start.data(),
            start.trainerOptions(!run.noProgress, System.out),
            transport,
            aeron,
            kind,
            bindEndpoint,
            secret,
            onJoined,
            "worker processes do not rejoin a run yet; "
                + howToContinue
                + ", or train with towers as threads for in-process recovery")) {
      start.prepare(trainer);
      try {
        return TrainCommand.finish(trainer, start.dir(), run);
      } catch (TowerFailedException e) {
        // A lost or crashed worker: the run can go on from its latest checkpoint in a new job.
        // (An elastic run has said so already; bad data or a NaN would only fail again.)
        if (e.recoverable() && !start.config().failure().elastic() && hasCheckpoint(trainer)) {
          System.out.println(command + ": " + howToContinue);
        }
        throw e;
      }
    }
  }

  private static boolean hasCheckpoint(final Trainer trainer) {
    try {
      return !trainer.checkpointStore().committed().isEmpty();
    } catch (CheckpointException unreadable) {
      return false; // the hint is not worth hiding the run's own error
    }
  }

  /** The exact command that continues the run in {@code dir} from its latest checkpoint. */
  static String howToContinue(final String command, final Path dir) {
    return "continue from the latest checkpoint with `synctower "
        + command
        + " --resume "
        + dir
        + "` (with this command's transport options; the Slurm and Kubernetes examples in"
        + " configs/ do this when the job is requeued or re-created)";
  }

  /**
   * A trainer whose towers are the worker processes that join over {@code aeron} (they get the
   * configuration from the coordinator when they join).
   *
   * @param whyNoRecovery what the log says when an elastic run loses a worker: workers do not
   *     rejoin, and how the user continues instead
   */
  static Trainer trainer(
      final RunConfig config,
      final TrainingData data,
      final Trainer.Options trainerOptions,
      final TransportOptions transport,
      final Aeron aeron,
      final TransportKind kind,
      final String bindEndpoint,
      final byte[] secret,
      final Consumer<RemoteTowers> onJoined,
      final String whyNoRecovery)
      throws InterruptedException {
    final long runId = new SecureRandom().nextLong();
    final RemoteTowers.Options options =
        new RemoteTowers.Options(
            kind,
            bindEndpoint,
            config.towers(),
            secret,
            transport.joinTimeout,
            transport.heartbeatInterval,
            transport.heartbeatTimeout,
            trainerOptions.out());
    return new Trainer(
        config,
        data,
        trainerOptions,
        runId,
        new Trainer.TowerLauncher() {
          @Override
          public Towers start(final long id, final Model first, final RunConfig c)
              throws InterruptedException {
            final RemoteTowers towers = RemoteTowers.join(aeron, id, c, options);
            onJoined.accept(towers);
            return towers;
          }

          @Override
          public int towersAfterLoss(final int towers) {
            return 0;
          }

          @Override
          public String whyNoRecovery() {
            return whyNoRecovery;
          }
        });
  }
}
