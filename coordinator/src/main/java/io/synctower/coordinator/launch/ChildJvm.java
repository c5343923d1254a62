package io.synctower.coordinator.launch;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The command line that starts another JVM running SyncTower's CLI with this JVM's java binary,
 * class path and the flags every SyncTower JVM needs (the Agrona export).
 *
 * <pre>{@code
 * Process p = new ProcessBuilder(ChildJvm.command("-Xmx2g", List.of("worker", "--rank", "1")))
 *     .redirectErrorStream(true).start();
 * }</pre>
 */
public final class ChildJvm {
  /** The CLI entry point children run. */
  public static final String MAIN_CLASS = "io.synctower.coordinator.cli.SyncTowerCli";

  private ChildJvm() {}

  /**
   * {@code java <flags> [maxHeap] -cp <this class path> SyncTowerCli <args>}; {@code maxHeap} such
   * as {@code -Xmx2g}, or null to use the JVM default.
   */
  public static List<String> command(final String maxHeap, final List<String> args) {
    final List<String> cmd = new ArrayList<>();
    cmd.add(javaBinary());
    cmd.add("--add-exports");
    cmd.add("java.base/jdk.internal.misc=ALL-UNNAMED");
    if (maxHeap != null) {
      cmd.add(maxHeap);
    }
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(MAIN_CLASS);
    cmd.addAll(args);
    return cmd;
  }

  /** The java binary of the running JVM, so children run the same Java version. */
  public static String javaBinary() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }
}
