package io.synctower.common.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
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
    return ProbeJvm.run(
        LoadedBackendProbe.class,
        env -> {
          env.remove(NativeVariant.ENVIRONMENT);
          if (nativeEnv != null) {
            env.put(NativeVariant.ENVIRONMENT, nativeEnv);
          }
        },
        Set.of("requested", "loaded", "library"));
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
