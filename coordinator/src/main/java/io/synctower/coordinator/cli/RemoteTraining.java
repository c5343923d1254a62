package io.synctower.coordinator.cli;

import io.aeron.Aeron;
import io.synctower.common.config.ConfigLoader;
import io.synctower.common.config.RunConfig;
import io.synctower.coordinator.cluster.RemoteTowers;
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
   */
  static int run(
      final ConfigOptions.Checked checked,
      final RunOptions run,
      final TransportOptions transport,
      final Aeron aeron,
      final TransportKind kind,
      final String bindEndpoint,
      final byte[] secret,
      final Consumer<RemoteTowers> onJoined)
      throws InterruptedException {
    final RunConfig config = checked.config();
    final TrainingData data = checked.data();
    final Path dir = run.runDir(config);
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
            System.out);
    try (Trainer trainer =
        new Trainer(
            config,
            data,
            new Trainer.Options(dir, !run.noProgress, System.out),
            runId,
            (id, first) -> {
              final RemoteTowers towers =
                  RemoteTowers.join(
                      aeron,
                      id,
                      ConfigLoader.toYaml(config),
                      config.training().batchSize(),
                      options);
              onJoined.accept(towers);
              return towers;
            })) {
      return TrainCommand.finish(trainer, dir, run);
    }
  }
}
