package io.synctower.coordinator.train;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;

/**
 * A run directory that cannot be used as asked: it is a file, not writable, full, held by another
 * run, or holds a run or files a new run would destroy. The message names the path, what is wrong
 * and the fix; the command line reports it as bad input (exit 2), before any tower starts where it
 * can be known then.
 */
public final class RunDirectoryException extends RuntimeException {
  public RunDirectoryException(final String message) {
    super(message);
  }

  public RunDirectoryException(final String message, final Throwable cause) {
    super(message, cause);
  }

  /**
   * What the operating system said, in words ("No space left on device", "permission denied"),
   * without the path the message names anyway.
   */
  static String reason(final IOException e) {
    if (e instanceof AccessDeniedException) {
      return "permission denied";
    }
    if (e instanceof FileAlreadyExistsException f) {
      return (f.getFile() == null ? "a part of the path" : f.getFile())
          + " exists and is not a directory";
    }
    if (e instanceof NoSuchFileException f) {
      return "no such file or directory" + (f.getFile() == null ? "" : ": " + f.getFile());
    }
    if (e instanceof FileSystemException f && f.getReason() != null) {
      return f.getReason();
    }
    return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
  }
}
