package io.synctower.common.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The native build asked for is the build that loads. JavaCPP reads its property once, when ND4J
 * first loads, so each case runs in a fresh JVM ({@link LoadedBackendProbe}, on this test's
 * classpath) and compares the request with the library the child process mapped ({@code
 * /proc/self/maps}). Before the fix every case loaded {@code -onednn-avx2}.
 */
class NativeVariantLoadTest {
  /**
   * {@code SYNCTOWER_NATIVE} values: the plain build, both oneDNN builds (the AVX-512 one only on a
   * CPU that can run it), and unset (the build {@link NativeVariant#forFlags} picks for this CPU).
   */
  @ParameterizedTest(name = "SYNCTOWER_NATIVE={0}")
  @ValueSource(strings = {"none", "-onednn-avx2", "-onednn-avx512", "<unset>"})
  void theBuildAskedForShouldBeTheBuildMapped(final String variant) throws Exception {
    final Set<String> flags = cpuFlags();
    Assumptions.assumeTrue(
        !variant.equals("-onednn-avx2") || flags.containsAll(Set.of("avx2", "fma")),
        "this CPU cannot run the AVX2 build");
    Assumptions.assumeTrue(
        !variant.equals("-onednn-avx512") || flags.contains("avx512f"),
        "this CPU cannot run the AVX-512 build");
    final Map<String, String> child = runProbe(variant.equals("<unset>") ? null : variant);
    final String expected =
        switch (variant) {
          case "none" -> "";
          case "<unset>" -> NativeVariant.forFlags(flags);
          default -> variant;
        };
    assertEquals(expected, child.get("requested"), child.toString());
    assertEquals(expected, child.get("loaded"), child.toString());
    assertTrue(
        child.get("library").endsWith("/linux-x86_64" + expected + "/libnd4jcpu.so"),
        child.toString());
  }

  private static Map<String, String> runProbe(final String nativeEnv)
      throws IOException, InterruptedException {
    final Path java = Path.of(System.getProperty("java.home"), "bin", "java");
    final ProcessBuilder pb =
        new ProcessBuilder(
            java.toString(),
            "-Xmx1g",
            "-cp",
            System.getProperty("java.class.path"),
            LoadedBackendProbe.class.getName());
    pb.environment().remove(NativeVariant.ENVIRONMENT);
    if (nativeEnv != null) {
      pb.environment().put(NativeVariant.ENVIRONMENT, nativeEnv);
    }
    pb.redirectErrorStream(true);
    final Process p = pb.start();
    final byte[] out = p.getInputStream().readAllBytes();
    assertTrue(p.waitFor(5, TimeUnit.MINUTES), "probe JVM did not finish");
    final String text = new String(out, StandardCharsets.UTF_8);
    assertEquals(0, p.exitValue(), text);
    final Map<String, String> values = new HashMap<>();
    for (final String line : text.split("\n")) {
      final int eq = line.indexOf('=');
      if (eq > 0 && List.of("requested", "loaded", "library").contains(line.substring(0, eq))) {
        values.put(line.substring(0, eq), line.substring(eq + 1).trim());
      }
    }
    assertEquals(Set.of("requested", "loaded", "library"), values.keySet(), text);
    return values;
  }

  private static Set<String> cpuFlags() throws IOException {
    for (final String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
      if (line.startsWith("flags")) {
        return new HashSet<>(
            Arrays.asList(line.substring(line.indexOf(':') + 1).trim().split("\\s+")));
      }
    }
    return Set.of();
  }
}
