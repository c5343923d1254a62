package io.synctower.common.checkpoint;

import java.nio.file.Path;

/**
 * The store's root holds no checkpoint at all: no {@code latest} pointer and no committed {@code
 * step-*} directory. The one case in which a caller may safely start the run from scratch; a {@code
 * latest} that names a missing directory is a {@link CheckpointCorruptException} instead.
 */
public final class NoCheckpointException extends CheckpointException {
  private final Path root;

  NoCheckpointException(final Path root) {
    super(
        "no checkpoint in "
            + root
            + ": it has no latest pointer and no step-* directory; start the run from scratch,"
            + " or point the run at the directory that holds its checkpoints");
    this.root = root;
  }

  /** The store's root directory that was searched. */
  public Path root() {
    return root;
  }
}
