package io.synctower.common.backend;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The glibc allocator settings under which ND4J's native memory is reused instead of handed back to
 * the kernel and faulted in again on every call.
 *
 * <p>Why: libnd4j's {@code conv2d_bp} (and other oneDNN-backed ops) allocate their temporaries on
 * every call (four reorders of the activations into oneDNN's blocked layout and back) and free them
 * at its end. With glibc's defaults a block above the mmap threshold (at most 32 MiB), or any block
 * a non-main arena cannot hold (its heaps are 64 MiB), is an {@code mmap} that {@code free} unmaps,
 * so every call faults every page of its temporaries in again. Measured on a 2-core AMD EPYC VM:
 * the seed captcha model's step took 1970 ms, of it ~1500 ms of page faults (73,000 minor faults
 * per {@code conv2d_bp} of a [64, 78, 118, 32] layer, 560 ms for 52 ms of convolution); under these
 * settings 611 ms. PyTorch's CPU allocator has the same exposure, so the peer comparison runs both
 * under the same settings (README "Performance").
 *
 * <p>The settings: one arena (so big blocks come from the main heap, which can grow to any size,
 * not from an {@code mmap} per block), no {@code mmap} for large blocks, and a trim threshold of 64
 * GiB (freed memory stays with the process). The cost: the process keeps its peak native memory,
 * which a trainer reaches in its first step and needs again in every step after.
 *
 * <p>They are environment variables that glibc reads once, when the process starts, so a JVM cannot
 * set them for itself: {@code bin/synctower} exports them, {@code launch} passes them to its worker
 * processes, the tests run under them (the parent pom's surefire configuration), and a JVM started
 * any other way says so once ({@link #notice}). A value the user set always wins: setting one to
 * glibc's default turns that part off.
 */
public final class NativeMemoryReuse {
  /** Variable and value, in the order the launcher exports them. */
  public static final Map<String, String> SETTINGS = settings();

  private NativeMemoryReuse() {}

  private static Map<String, String> settings() {
    final Map<String, String> s = new LinkedHashMap<>();
    s.put("MALLOC_ARENA_MAX", "1");
    s.put("MALLOC_MMAP_MAX_", "0");
    s.put("MALLOC_TRIM_THRESHOLD_", Long.toString(64L << 30));
    return Collections.unmodifiableMap(s);
  }

  /** The settings' variables {@code environment} does not set (any value counts as set). */
  public static List<String> missing(final Map<String, String> environment) {
    final List<String> out = new ArrayList<>();
    for (final String key : SETTINGS.keySet()) {
      if (!environment.containsKey(key)) {
        out.add(key);
      }
    }
    return out;
  }

  /** Adds each setting the child's environment does not have yet (the user's values win). */
  public static void addTo(final Map<String, String> childEnvironment) {
    SETTINGS.forEach(childEnvironment::putIfAbsent);
  }

  /** {@code MALLOC_ARENA_MAX=1 MALLOC_MMAP_MAX_=0 ...}: what to put before a command. */
  public static String assignments() {
    return SETTINGS.entrySet().stream()
        .map(e -> e.getKey() + "=" + e.getValue())
        .collect(Collectors.joining(" "));
  }

  /**
   * One line for a run's header: whether this process reuses native memory. {@code environment} is
   * normally {@link System#getenv()}.
   */
  public static String describe(final Map<String, String> environment) {
    final List<String> missing = missing(environment);
    if (missing.isEmpty()) {
      return "native memory: reused ("
          + SETTINGS.keySet().stream()
              .map(k -> k + "=" + environment.get(k))
              .collect(Collectors.joining(" "))
          + ")";
    }
    return "native memory: returned to the OS after each op ("
        + String.join(", ", missing)
        + " unset)";
  }

  /**
   * The warning a process started without the settings prints once, or null when all are set or the
   * platform is not Linux (the variables are glibc's).
   */
  public static String notice(final Map<String, String> environment, final String osName) {
    final List<String> missing = missing(environment);
    if (missing.isEmpty() || !osName.toLowerCase(java.util.Locale.ROOT).contains("linux")) {
      return null;
    }
    return "note: "
        + String.join(", ", missing)
        + " not set (this JVM was not started by bin/synctower): glibc unmaps the big native"
        + " blocks ND4J frees after every op and faults them in again, which can make convolution"
        + " steps several times slower. Start java with "
        + assignments()
        + " in its environment (README \"Performance\").";
  }
}
