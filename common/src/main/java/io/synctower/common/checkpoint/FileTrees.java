package io.synctower.common.checkpoint;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * Deleting what a run wrote: a checkpoint directory, a run directory's own files.
 *
 * <p>Hand-written rather than Commons IO's {@code PathUtils.delete} (on the classpath through
 * ND4J): this never follows a symbolic link, so a link inside a run directory that points at a
 * user's data deletes the link, never the data.
 */
public final class FileTrees {
  private FileTrees() {}

  /**
   * Deletes {@code top}: a file or link itself, a directory with everything below it (links inside
   * are deleted, not followed). Nothing happens when it does not exist.
   *
   * @throws IOException the first failure; what was deleted before it stays deleted
   */
  public static void delete(final Path top) throws IOException {
    if (!Files.isDirectory(top, LinkOption.NOFOLLOW_LINKS)) {
      Files.deleteIfExists(top);
      return;
    }
    Files.walkFileTree(
        top,
        new SimpleFileVisitor<>() {
          @Override
          public FileVisitResult visitFile(final Path file, final BasicFileAttributes attrs)
              throws IOException {
            Files.delete(file);
            return FileVisitResult.CONTINUE;
          }

          @Override
          public FileVisitResult postVisitDirectory(final Path dir, final IOException e)
              throws IOException {
            if (e != null) {
              throw e;
            }
            Files.delete(dir);
            return FileVisitResult.CONTINUE;
          }
        });
  }
}
