package io.synctower.common.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Runs a probe's {@code main} in a fresh JVM on this test's class path, for settings a JVM reads
 * only once at start (the native build JavaCPP loads, glibc's allocator variables), and returns the
 * {@code key=value} lines it printed.
 */
final class ProbeJvm {
  private ProbeJvm() {}

  /**
   * Starts {@code probe} with this JVM's environment changed by {@code environment}, waits for it
   * (asserting exit code 0), and returns the values of {@code keys} it printed as {@code key=value}
   * lines (asserting it printed all of them).
   */
  static Map<String, String> run(
      final Class<?> probe, final Consumer<Map<String, String>> environment, final Set<String> keys)
      throws IOException, InterruptedException {
    final Path java = Path.of(System.getProperty("java.home"), "bin", "java");
    final ProcessBuilder pb =
        new ProcessBuilder(
            java.toString(),
            "-Xmx1g",
            "-cp",
            System.getProperty("java.class.path"),
            probe.getName());
    environment.accept(pb.environment());
    pb.redirectErrorStream(true);
    final Process p = pb.start();
    final byte[] out = p.getInputStream().readAllBytes();
    assertTrue(p.waitFor(5, TimeUnit.MINUTES), "probe JVM did not finish");
    final String text = new String(out, StandardCharsets.UTF_8);
    assertEquals(0, p.exitValue(), text);
    final Map<String, String> values = new HashMap<>();
    for (final String line : text.split("\n")) {
      final int eq = line.indexOf('=');
      if (eq > 0 && keys.contains(line.substring(0, eq))) {
        values.put(line.substring(0, eq), line.substring(eq + 1).trim());
      }
    }
    assertEquals(keys, values.keySet(), text);
    return values;
  }
}
