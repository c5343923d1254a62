package io.synctower.coordinator.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A command starts quietly: one line names the backend, ND4J's own start-up log (about 15 INFO
 * lines) is hidden, and {@code --verbose} brings it back. Runs the real {@code main} in a fresh
 * JVM, since the log level is fixed when ND4J first logs.
 */
class QuietStartTest {
  private static final String ND4J_BANNER = "INFO org.nd4j.linalg.factory.Nd4jBackend - Loaded";

  @Test
  void aCommandShouldNameTheBackendInOneLineWithoutNd4jsBanner(@TempDir final Path dir)
      throws Exception {
    final String err = stderrOf(dir, false);
    assertFalse(err.contains(ND4J_BANNER), err);
    assertFalse(err.contains(" INFO "), err);
    final long backendLines = err.lines().filter(l -> l.startsWith("ND4J CPU backend")).count();
    assertEquals(1, backendLines, err);
  }

  @Test
  void verboseShouldShowNd4jsOwnLog(@TempDir final Path dir) throws Exception {
    final String err = stderrOf(dir, true);
    assertTrue(err.contains(ND4J_BANNER), err);
  }

  /** Standard error of a one-step training run started through {@code SyncTowerCli.main}. */
  private static String stderrOf(final Path dir, final boolean verbose)
      throws IOException, InterruptedException {
    final Path config = TinyConfig.write(dir, TinyConfig.YAML);
    final List<String> command =
        new ArrayList<>(
            List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx1g",
                "-cp",
                System.getProperty("java.class.path"),
                SyncTowerCli.class.getName(),
                "train",
                "--config",
                config.toString(),
                "--steps",
                "1",
                "--no-doctor",
                "--run-dir",
                dir.resolve("run").toString()));
    if (verbose) {
      command.add("--verbose");
    }
    final Process p =
        new ProcessBuilder(command).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    final String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(5, TimeUnit.MINUTES), "synctower train did not finish");
    assertEquals(0, p.exitValue(), err);
    return err;
  }
}
