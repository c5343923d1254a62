package io.synctower.coordinator.train;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;

/**
 * Another host's live run, as its lock file shows it to this host: the file's modification time
 * keeps moving (every 50 ms, much faster than a real lease, so a watcher sees it at once).
 */
public final class LockRenewer implements AutoCloseable {
  private final Thread thread;
  private volatile boolean running = true;

  public LockRenewer(final Path lockFile) {
    thread =
        new Thread(
            () -> {
              while (running) {
                try {
                  Files.setLastModifiedTime(lockFile, FileTime.from(Instant.now()));
                  Thread.sleep(50);
                } catch (Exception e) {
                  return;
                }
              }
            },
            "lock-renewer");
    thread.setDaemon(true);
    thread.start();
  }

  @Override
  public void close() throws InterruptedException {
    running = false;
    thread.join();
  }
}
