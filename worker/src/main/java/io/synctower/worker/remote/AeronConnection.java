package io.synctower.worker.remote;

import io.aeron.Aeron;
import io.aeron.driver.MediaDriver;
import org.agrona.CloseHelper;

/**
 * An Aeron client and, unless the process uses an existing media driver, the embedded driver it
 * talks to. Every SyncTower process opens its transport this one way.
 *
 * <pre>{@code
 * try (AeronConnection c = AeronConnection.open("worker0", aeronDirOrNull)) {
 *   new WorkerEndpoint(c.aeron(), options, System.out).run(factory);
 * }
 * }</pre>
 */
public final class AeronConnection implements AutoCloseable {
  private final MediaDriver driver;
  private final Aeron aeron;

  private AeronConnection(final MediaDriver driver, final Aeron aeron) {
    this.driver = driver;
    this.aeron = aeron;
  }

  /**
   * Connects to the driver in {@code directory}, or, when it is null, to a new embedded driver
   * ({@link MediaDrivers#launchEmbedded}) that closes with this connection.
   */
  public static AeronConnection open(final String role, final String directory) {
    final MediaDriver driver = directory == null ? MediaDrivers.launchEmbedded(role) : null;
    try {
      final String dir = driver != null ? driver.aeronDirectoryName() : directory;
      return new AeronConnection(
          driver, Aeron.connect(new Aeron.Context().aeronDirectoryName(dir)));
    } catch (RuntimeException e) {
      CloseHelper.quietClose(driver);
      throw e;
    }
  }

  public Aeron aeron() {
    return aeron;
  }

  /** The driver directory: other processes of this host pass it as {@code --aeron-dir}. */
  public String directory() {
    return aeron.context().aeronDirectoryName();
  }

  /** Closes the client, then the embedded driver (which deletes its directory). */
  @Override
  public void close() {
    CloseHelper.closeAll(aeron, driver);
  }
}
