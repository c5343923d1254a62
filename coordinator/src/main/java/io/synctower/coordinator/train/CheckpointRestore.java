package io.synctower.coordinator.train;

import io.synctower.common.checkpoint.CheckpointException;
import io.synctower.common.checkpoint.StoredCheckpoint;
import io.synctower.common.protocol.Command;
import io.synctower.coordinator.towers.Towers;

/**
 * A checkpoint put back into every tower (replicas, optimizer state, moving statistics), with the
 * run position it records ({@link TrainerState}): how a run resumes, an elastic restart goes on and
 * precise BN reads a checkpoint. Each tower reads the checkpoint's files itself (worker processes
 * on other hosts too), and the next step's replica hashes prove they agree.
 */
final class CheckpointRestore {
  private CheckpointRestore() {}

  /**
   * Loads {@code checkpoint} into every tower of the run {@code runId}.
   *
   * @return the checkpoint's position
   * @throws CheckpointException when a file of the checkpoint is corrupt or it was written by
   *     another model
   */
  static TrainerState restore(
      final StoredCheckpoint checkpoint, final Towers towers, final long runId)
      throws InterruptedException {
    final TrainerState state =
        TrainerState.parse(
            checkpoint.text(RunFiles.TRAINER_FILE),
            checkpoint.file(RunFiles.TRAINER_FILE).toString());
    towers.send(new Command.Restore(runId, checkpoint.directory().toAbsolutePath().toString()));
    towers.collect();
    return state;
  }
}
