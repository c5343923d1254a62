package io.synctower.common.checkpoint;

import java.nio.file.Path;
import java.util.List;

/**
 * A checkpoint, or the {@code latest} pointer, is damaged: a file is missing, truncated, too long
 * or fails its CRC32C, or the manifest is torn. The message lists every problem, each naming its
 * path, and ends with the fix.
 */
public final class CheckpointCorruptException extends CheckpointException {
  private final Path path;
  private final List<String> problems;

  CheckpointCorruptException(final Path path, final List<String> problems, final String fix) {
    super(message(problems, fix));
    this.path = path;
    this.problems = List.copyOf(problems);
  }

  /** The same problems with another fix, for a caller that knows more (e.g. older checkpoints). */
  CheckpointCorruptException withFix(final String fix) {
    final CheckpointCorruptException e = new CheckpointCorruptException(path, problems, fix);
    e.initCause(this);
    return e;
  }

  /** The damaged checkpoint directory, or the {@code latest} file. */
  public Path path() {
    return path;
  }

  /** One line per problem, each starting with the path it concerns; immutable. */
  public List<String> problems() {
    return problems;
  }

  private static String message(final List<String> problems, final String fix) {
    final String what =
        problems.size() == 1 ? problems.get(0) : "\n  " + String.join("\n  ", problems) + "\n";
    return what + (problems.size() == 1 ? "; " : "") + "fix: " + fix;
  }
}
