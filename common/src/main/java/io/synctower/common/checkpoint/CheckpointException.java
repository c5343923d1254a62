package io.synctower.common.checkpoint;

/**
 * A checkpoint could not be loaded. The base of {@link CheckpointCorruptException} (a checkpoint is
 * there but damaged) and {@link NoCheckpointException} (there is none); thrown as itself when a
 * verified file cannot be read afterwards. Messages name the path, what is wrong and the fix.
 */
public class CheckpointException extends RuntimeException {
  public CheckpointException(final String message) {
    super(message);
  }

  public CheckpointException(final String message, final Throwable cause) {
    super(message, cause);
  }
}
