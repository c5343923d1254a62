package io.synctower.coordinator.cli;

import io.aeron.Aeron;
import io.synctower.common.config.ConfigLoader;
import io.synctower.common.config.RunConfig;
import io.synctower.common.nn.Model;
import io.synctower.coordinator.cluster.RemoteTowers;
import io.synctower.coordinator.towers.Towers;
import io.synctower.coordinator.train.Trainer;
import io.synctower.coordinator.train.TrainingData;
import io.synctower.worker.transport.TransportKind;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.function.Consumer;

/**
 * The coordinator's side of a run with worker processes, shared by {@code coordinator} and {@code
 * launch}: given the checked configuration and data (for the plan and the log), waits for the
 * towers to join over {@code aeron}, trains, and writes what the run options ask for.
 */
final class RemoteTraining {
  private RemoteTraining() {}

  /**
   * @param checked the run's configuration and datasets, already through {@link
   *     io.synctower.coordinator.train.Preflight}
   * @param dir the run directory, owned by this process ({@link
   *     io.synctower.coordinator.train.RunDirectory})
   */
  static int run(
      final ConfigOptions.Checked checked,
      final RunOptions run,
      final Path dir,
      final TransportOptions transport,
      final Aeron aeron,
      final TransportKind kind,
      final String bindEndpoint,
      final byte[] secret,
      final Consumer<RemoteTowers> onJoined)
      throws InterruptedException {
    try (Trainer trainer =
        trainer(
            checked.config(),
            checked.data(),
            new Trainer.Options(dir, !run.noProgress, System.out),
            transport,
            aeron,
            kind,
            bindEndpoint,
            secret,
            onJoined)) {
      return TrainCommand.finish(trainer, dir, run);
    }
  }

  /**
   * A trainer whose towers are the worker processes that join over {@code aeron} (they get the
   * configuration from the coordinator when they join).
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
      final Consumer<RemoteTowers> onJoined)
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
            final RemoteTowers towers =
                RemoteTowers.join(
                    aeron, id, ConfigLoader.toYaml(c), c.training().batchSize(), options);
            onJoined.accept(towers);
            return towers;
          }

          @Override
          public int towersAfterLoss(final int towers) {
            return 0;
          }

          @Override
          public String whyNoRecovery() {
            return "worker processes do not rejoin a run yet; restart the job with"
                + " `synctower ... --resume RUN_DIR` (Slurm --requeue, a Kubernetes Job's"
                + " backoffLimit), or train with towers as threads for in-process recovery";
          }
        });
  }
}
