package io.synctower.coordinator.cli;

import io.aeron.driver.MediaDriver;
import io.synctower.worker.remote.MediaDrivers;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code synctower driver}: a standalone Aeron media driver for every process of one host. */
@Command(
    name = "driver",
    mixinStandardHelpOptions = true,
    description = {
      "Run a standalone Aeron media driver in --dir until Ctrl-C. Point the coordinator and",
      "the workers of this host at it with --aeron-dir DIR instead of embedding one each."
    })
final class DriverCommand implements Callable<Integer> {
  @Option(
      names = "--dir",
      paramLabel = "DIR",
      description = "Driver directory (default: a new one under /dev/shm, printed at start).")
  String dir;

  @Override
  public Integer call() throws Exception {
    final String directory = dir != null ? dir : MediaDrivers.newDirectory("driver");
    try (MediaDriver driver = MediaDriver.launch(MediaDrivers.context(directory))) {
      System.out.println("media driver running in " + driver.aeronDirectoryName());
      System.out.println("use --aeron-dir " + driver.aeronDirectoryName() + "; Ctrl-C stops it");
      final CountDownLatch stop = new CountDownLatch(1);
      Runtime.getRuntime().addShutdownHook(new Thread(stop::countDown));
      stop.await();
    }
    return 0;
  }
}
