package io.synctower.coordinator.train;

import io.synctower.common.checkpoint.CheckpointException;
import io.synctower.common.checkpoint.CheckpointFile;
import io.synctower.common.checkpoint.CheckpointStore;
import io.synctower.common.checkpoint.StoredCheckpoint;
import io.synctower.common.checkpoint.TrainingSnapshot;
import io.synctower.common.config.RunConfig;
import io.synctower.common.nn.Model;
import io.synctower.common.optim.Optimizer;
import io.synctower.worker.assembly.Replicas;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A checkpoint that is another one with new BN moving statistics (precise BN's output): every file
 * of the original (parameters, optimizer state, position, config) with only {@code state.npy}
 * replaced. The parameters and optimizer buffers are read back from the original checkpoint, not
 * from a replica, so they are the original's bit for bit.
 *
 * <pre>{@code
 * Path dir = PreciseBnCheckpoint.commit(original, recalibratedReplica, config, store, keep);
 * }</pre>
 *
 * <p>Into the original's own store it is committed as a new revision of the same step ({@link
 * CheckpointStore#commitRevision}), which keeps the original as its fallback; into another store as
 * a plain commit. Runs on the caller's thread; allocates one replica and optimizer of the model's
 * size.
 */
public final class PreciseBnCheckpoint {
  private PreciseBnCheckpoint() {}

  /**
   * Commits {@code original} with the moving statistics of {@code statistics} (a replica of the
   * same model) into {@code store}, keeping its newest {@code keep} checkpoints.
   *
   * @return the new checkpoint's directory
   * @throws CheckpointException if the checkpoint cannot be written (the message says why and which
   *     checkpoints are intact)
   */
  public static Path commit(
      final StoredCheckpoint original,
      final Model statistics,
      final RunConfig config,
      final CheckpointStore store,
      final int keep) {
    final Model model = Replicas.newModel(config, TrainingSnapshot.inputShape(original));
    final Optimizer optimizer =
        config.training().optimizer().create(model.parameters(), model.trainableRanges());
    TrainingSnapshot.restore(original, model, optimizer);
    model.state().assign(statistics.state());
    final TrainingSnapshot snapshot = new TrainingSnapshot(model, optimizer);
    snapshot.capture(model, optimizer);
    final List<CheckpointFile> files = new ArrayList<>(snapshot.files());
    for (final String text : List.of(RunFiles.TRAINER_FILE, "config.yaml")) {
      files.add(CheckpointFile.ofText(text, original.text(text)));
    }
    final boolean sameStore =
        original.directory().toAbsolutePath().normalize().getParent().equals(store.root());
    try {
      return sameStore
          ? store.commitRevision(original.step(), files, keep)
          : store.commit(original.step(), files, keep);
    } catch (IOException e) {
      throw new CheckpointException(e.getMessage(), e);
    }
  }
}
