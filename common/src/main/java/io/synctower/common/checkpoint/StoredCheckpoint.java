package io.synctower.common.checkpoint;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A committed checkpoint whose every file matched its manifest (size and CRC32C) when it was
 * loaded. Holds paths, not contents: reading a file later trusts that nothing changed it since.
 *
 * @param directory the checkpoint's directory, e.g. {@code RUN_DIR/checkpoints/step-00000120}
 * @param step the training step it was written at
 * @param files every file of the checkpoint by name, in the order they were committed (the manifest
 *     is not one of them); immutable
 * @param skipped what {@link CheckpointStore#loadLatest(boolean)} passed over to get here, newest
 *     first, each naming the path and what was wrong (a missing {@code latest}, a corrupt newer
 *     checkpoint); empty when the checkpoint {@code latest} names verified; immutable
 */
public record StoredCheckpoint(
    Path directory, long step, Map<String, Path> files, List<String> skipped) {
  public StoredCheckpoint {
    Objects.requireNonNull(directory, "directory");
    files = Collections.unmodifiableMap(new LinkedHashMap<>(files));
    skipped = List.copyOf(skipped);
  }

  /**
   * The path of the file called {@code name}.
   *
   * @throws CheckpointCorruptException naming the file if the checkpoint has none by that name
   */
  public Path file(final String name) {
    Objects.requireNonNull(name, "name");
    final Path path = files.get(name);
    if (path == null) {
      throw new CheckpointCorruptException(
          directory,
          List.of(directory.resolve(name) + ": missing; the checkpoint has " + files.keySet()),
          "the checkpoint was written by code that did not save '"
              + name
              + "'; load a checkpoint that has it, or start the run from scratch");
    }
    return path;
  }

  /**
   * The content of file {@code name} decoded as UTF-8, read now into a new string.
   *
   * @throws CheckpointCorruptException if there is no such file
   * @throws CheckpointException naming the file if it cannot be read or is not valid UTF-8
   */
  public String text(final String name) {
    final Path path = file(name);
    try {
      return Files.readString(path, StandardCharsets.UTF_8);
    } catch (final IOException e) {
      throw new CheckpointException("cannot read " + path + " as UTF-8 text: " + e, e);
    }
  }
}
