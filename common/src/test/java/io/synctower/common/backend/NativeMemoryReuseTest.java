package io.synctower.common.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The allocator settings do what {@link NativeMemoryReuse} says, and every way SyncTower starts a
 * JVM applies the same ones.
 */
class NativeMemoryReuseTest {
  /**
   * The effect: a warm {@code conv2d_bp} faults its temporaries in again on every call under
   * glibc's defaults, and (almost) never under the settings. Each case runs in a fresh JVM, since
   * glibc reads the variables at process start.
   */
  @Test
  void warmConvolutionBackwardShouldNotFaultItsTemporariesInAgain() throws Exception {
    Assumptions.assumeTrue(Files.isReadable(Path.of("/proc/self/stat")), "needs Linux /proc");
    final Map<String, Long> defaults = runProbe(false);
    final Map<String, Long> reuse = runProbe(true);
    final long pages = defaults.get("activationPages");
    Assumptions.assumeTrue(
        defaults.get("faultsPerCall") > pages / 4,
        "this C library already reuses the blocks (faults per call "
            + defaults
            + "): nothing to show");
    // Measured on a 2-core AMD EPYC VM: 36,820 faults per call under the defaults (4 blocks of
    // 9,204 pages); under the settings 0 once the heap has settled (an average over the first
    // warm calls was 0, 4,602 or 13,806 from run to run, hence the fewest of 4 calls): a quarter
    // of the defaults' is the bound.
    assertTrue(
        reuse.get("faultsPerCall") * 4 < defaults.get("faultsPerCall"),
        "under "
            + NativeMemoryReuse.assignments()
            + ": "
            + reuse
            + "; glibc defaults: "
            + defaults);
  }

  @Test
  void theLauncherScriptsShouldExportTheSameSettings() throws IOException {
    final Path root = projectRoot();
    final String settings =
        Files.readString(root.resolve("bin/lib/native-memory.sh"), StandardCharsets.UTF_8);
    NativeMemoryReuse.SETTINGS.forEach(
        (k, v) ->
            assertTrue(
                settings.contains("export " + k + "=\"${" + k + "-" + v + "}\""),
                "bin/lib/native-memory.sh does not export " + k + "=" + v + " (unless set)"));
    for (final String script :
        List.of(
            "bin/synctower",
            "bin/benchmarks",
            "benchmarks/peers/compare.sh",
            "benchmarks/peers/allreduce.sh")) {
      final String text = Files.readString(root.resolve(script), StandardCharsets.UTF_8);
      assertTrue(
          text.lines()
              .anyMatch(l -> l.startsWith(". ") && l.endsWith("bin/lib/native-memory.sh\"")),
          script + " does not source bin/lib/native-memory.sh");
    }
    final String pom = Files.readString(root.resolve("pom.xml"), StandardCharsets.UTF_8);
    NativeMemoryReuse.SETTINGS.forEach(
        (k, v) ->
            assertTrue(
                pom.contains("<" + k + ">" + v + "</" + k + ">"),
                "the surefire configuration does not set " + k + "=" + v));
  }

  @Test
  void aValueTheUserSetShouldWinAndOnlyMissingOnesBeAdded() {
    final Map<String, String> env = new HashMap<>(Map.of("MALLOC_ARENA_MAX", "4"));
    assertEquals(
        List.of("MALLOC_MMAP_MAX_", "MALLOC_TRIM_THRESHOLD_"), NativeMemoryReuse.missing(env));
    NativeMemoryReuse.addTo(env);
    assertEquals("4", env.get("MALLOC_ARENA_MAX"));
    assertEquals("0", env.get("MALLOC_MMAP_MAX_"));
    assertEquals("68719476736", env.get("MALLOC_TRIM_THRESHOLD_"));
    assertTrue(NativeMemoryReuse.missing(env).isEmpty());
  }

  @Test
  void theNoticeShouldNameWhatIsMissingAndTheFixOnlyOnLinux() {
    final String notice = NativeMemoryReuse.notice(Map.of("MALLOC_ARENA_MAX", "1"), "Linux");
    assertNotNull(notice);
    assertTrue(notice.contains("MALLOC_MMAP_MAX_, MALLOC_TRIM_THRESHOLD_ not set"), notice);
    assertTrue(notice.contains(NativeMemoryReuse.assignments()), notice);
    assertNull(NativeMemoryReuse.notice(Map.of(), "Mac OS X"));
    assertNull(NativeMemoryReuse.notice(NativeMemoryReuse.SETTINGS, "Linux"));
    assertTrue(
        NativeMemoryReuse.describe(NativeMemoryReuse.SETTINGS).startsWith("native memory: reused"));
    assertTrue(NativeMemoryReuse.describe(Map.of()).contains("returned to the OS"));
  }

  private static Path projectRoot() {
    Path p = Path.of("").toAbsolutePath();
    while (p != null && !Files.exists(p.resolve("bin/synctower"))) {
      p = p.getParent();
    }
    assertNotNull(p, "no bin/synctower above " + Path.of("").toAbsolutePath());
    return p;
  }

  private static Map<String, Long> runProbe(final boolean reuse)
      throws IOException, InterruptedException {
    final Map<String, String> printed =
        ProbeJvm.run(
            NativeMemoryReuseProbe.class,
            env -> {
              NativeMemoryReuse.SETTINGS.keySet().forEach(env::remove);
              if (reuse) {
                NativeMemoryReuse.addTo(env);
              }
              // One native thread: the fault count is the same, the probe quicker on a busy
              // machine.
              env.put("OMP_NUM_THREADS", "1");
            },
            Set.of("faultsPerCall", "activationPages"));
    final Map<String, Long> values = new HashMap<>();
    printed.forEach((k, v) -> values.put(k, Long.parseLong(v)));
    return values;
  }
}
