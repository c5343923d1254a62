package io.synctower.worker;

import io.synctower.common.checkpoint.CheckpointException;
import io.synctower.common.checkpoint.CheckpointFile;
import io.synctower.common.checkpoint.CheckpointStore;
import io.synctower.common.checkpoint.TrainingSnapshot;
import io.synctower.common.config.ConfigLoader;
import io.synctower.common.config.RunConfig;
import io.synctower.common.nn.Model;
import io.synctower.common.optim.Optimizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Checkpoints of one tower's replica, written in the background: {@link #begin} copies the flat
 * buffers on the tower's thread (the only pause training sees) and commits them through a {@link
 * CheckpointStore} on a writer thread while the tower trains on.
 *
 * <pre>{@code
 * writer.begin(step, directory, keep, trainerYaml);   // copy, then return
 * ... training steps; each starts with writer.checkHealthy() ...
 * writer.awaitWritten();                               // before shutdown, or when asked to wait
 * }</pre>
 *
 * <p>One checkpoint is in flight at most: {@code begin} first waits for the previous one, so one
 * snapshot's memory is enough. A failed write (full disk, permissions) is rethrown by the next
 * {@code begin}, {@link #checkHealthy} or {@link #awaitWritten} as a {@link CheckpointException}
 * naming the checkpoint; what the store committed before stays intact.
 */
final class CheckpointWriter implements AutoCloseable {
  private final Model model;
  private final Optimizer optimizer;
  private final RunConfig config;
  // Serialized once, when this tower writes its first checkpoint (only tower 0 writes them).
  private String configYaml;
  private TrainingSnapshot snapshot;
  private ExecutorService thread;
  private Future<Path> inFlight;
  private long inFlightStep;

  CheckpointWriter(final Model model, final Optimizer optimizer, final RunConfig config) {
    this.model = model;
    this.optimizer = optimizer;
    this.config = config;
  }

  /**
   * Captures the replica now and commits it as checkpoint {@code step} under {@code directory} in
   * the background, with the coordinator's {@code trainerYaml} and the run's resolved config.
   */
  void begin(final long step, final Path directory, final int keep, final String trainerYaml)
      throws InterruptedException {
    awaitWritten();
    if (snapshot == null) {
      snapshot = new TrainingSnapshot(model, optimizer);
      thread =
          Executors.newSingleThreadExecutor(
              r -> {
                final Thread t = new Thread(r, "checkpoint-writer");
                t.setDaemon(true);
                return t;
              });
    }
    snapshot.capture(model, optimizer);
    final List<CheckpointFile> files = new ArrayList<>(snapshot.files());
    files.add(CheckpointFile.ofText("trainer.yaml", trainerYaml));
    if (configYaml == null) {
      configYaml = ConfigLoader.toYaml(config);
    }
    files.add(CheckpointFile.ofText("config.yaml", configYaml));
    final CheckpointStore store = new CheckpointStore(directory);
    inFlightStep = step;
    inFlight = thread.submit(() -> store.commit(step, files, keep));
  }

  /** Throws if the checkpoint in flight has already failed; never waits. */
  void checkHealthy() throws InterruptedException {
    if (inFlight != null && inFlight.isDone()) {
      awaitWritten();
    }
  }

  /**
   * Waits until the checkpoint in flight is committed.
   *
   * @return its directory, or null when none was in flight
   * @throws CheckpointException naming the step and the cause when it could not be written
   */
  Path awaitWritten() throws InterruptedException {
    if (inFlight == null) {
      return null;
    }
    final Future<Path> f = inFlight;
    inFlight = null;
    try {
      return f.get();
    } catch (java.util.concurrent.ExecutionException e) {
      final Throwable cause = e.getCause();
      throw new CheckpointException(
          "checkpoint of step "
              + inFlightStep
              + " could not be written: "
              + cause.getMessage()
              + ". The previous checkpoint is intact; free space or fix the permissions of the"
              + " checkpoint directory, then resume",
          cause);
    }
  }

  @Override
  public void close() {
    if (thread != null) {
      thread.shutdown();
    }
  }
}
