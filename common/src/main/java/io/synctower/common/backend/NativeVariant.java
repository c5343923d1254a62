package io.synctower.common.backend;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Locale;
import java.util.Set;

/**
 * Chooses which ND4J native build JavaCPP loads, before ND4J is first touched.
 *
 * <p>The CPU build ships three native variants of libnd4j (see the {@code cpu} profile in {@code
 * common/pom.xml}). The plain build is unusable for training convolutions (about 15 s per captcha
 * step, README "Performance"); the oneDNN builds are several times faster but need AVX2 or AVX-512,
 * and loading one on a CPU without those instructions dies with SIGILL rather than an exception. So
 * the choice is made here, from {@code /proc/cpuinfo}, and written to the {@code
 * org.bytedeco.javacpp.platform.extension} system property that JavaCPP reads when it loads the
 * library.
 *
 * <p>Property name: JavaCPP 1.5.7's {@code Loader} takes its platform settings only from system
 * properties prefixed {@code org.bytedeco.javacpp.} (the unprefixed {@code javacpp.platform.*}
 * names are Maven properties of the {@code javacpp-platform} POMs, which pick jars at build time
 * and mean nothing at run time). Without the property JavaCPP tries the extensions the ND4J
 * bindings declare in their own order and loads the first one on the classpath, which is {@code
 * -onednn-avx2}; an earlier version of this class set the unprefixed name and so never chose
 * anything (NativeVariantLoadTest proves the chosen build is the mapped one).
 *
 * <p>Caller's contract: call {@link #select()} first thing in {@code main} (and in the test
 * launcher listener), before any class that touches {@code Nd4j}. A value the user already set
 * ({@code -Dorg.bytedeco.javacpp.platform.extension=...}, the old {@code
 * -Djavacpp.platform.extension=...}, or {@code SYNCTOWER_NATIVE}) always wins; the empty string
 * forces the plain build.
 *
 * <p>A CUDA build ({@code mvn -Pcuda}) is left alone: when ND4J's CUDA backend is on the classpath
 * (ND4J prefers it over the CPU backend), or the CPU backend is not, {@link #select()} sets nothing
 * and returns "". The check looks for the backend classes as resources, so it loads neither.
 */
public final class NativeVariant {
  /** The JavaCPP system property naming the variant suffix after {@code linux-x86_64}. */
  public static final String PROPERTY = "org.bytedeco.javacpp.platform.extension";

  /**
   * The name this class used to set, which JavaCPP ignores; a value a user passes under it is
   * honoured by copying it to {@link #PROPERTY}.
   */
  static final String LEGACY_PROPERTY = "javacpp.platform.extension";

  /** Environment variable that overrides detection, e.g. {@code -onednn-avx2} or {@code none}. */
  public static final String ENVIRONMENT = "SYNCTOWER_NATIVE";

  static final String CPU_BACKEND = "org/nd4j/linalg/cpu/nativecpu/CpuBackend.class";
  static final String CUDA_BACKEND = "org/nd4j/linalg/jcublas/JCublasBackend.class";

  private NativeVariant() {}

  /**
   * Sets {@link #PROPERTY} unless it is set already, and returns the suffix in force ("" for the
   * plain build). Never throws: an unreadable cpuinfo selects the plain build.
   */
  public static synchronized String select() {
    if (!cpuBackendWillLoad(NativeVariant.class.getClassLoader())) {
      return "";
    }
    final String already = System.getProperty(PROPERTY);
    if (already != null) {
      return already;
    }
    final String legacy = System.getProperty(LEGACY_PROPERTY);
    if (legacy != null) {
      System.setProperty(PROPERTY, legacy);
      return legacy;
    }
    final String fromEnv = System.getenv(ENVIRONMENT);
    final String chosen;
    if (fromEnv != null && !fromEnv.isBlank()) {
      chosen = fromEnv.trim().equalsIgnoreCase("none") ? "" : fromEnv.trim();
    } else {
      chosen = forFlags(cpuFlags());
    }
    System.setProperty(PROPERTY, chosen);
    return chosen;
  }

  /**
   * Whether ND4J will load its CPU backend from {@code loader}'s classpath: the CPU backend is
   * there and the CUDA one (which wins when both are) is not. Reads resources only, loads no class.
   */
  static boolean cpuBackendWillLoad(final ClassLoader loader) {
    return loader.getResource(CPU_BACKEND) != null && loader.getResource(CUDA_BACKEND) == null;
  }

  /**
   * The fastest variant whose instructions the CPU has: oneDNN with AVX-512 if the CPU has the
   * AVX-512 foundation, byte/word and vector-length extensions; oneDNN with AVX2 if it has AVX2 and
   * FMA; otherwise the plain x86-64 build.
   */
  static String forFlags(final Set<String> flags) {
    if (!"amd64".equals(arch()) && !"x86_64".equals(arch())) {
      return "";
    }
    if (flags.containsAll(Set.of("avx512f", "avx512bw", "avx512vl", "avx512dq"))) {
      return "-onednn-avx512";
    }
    if (flags.containsAll(Set.of("avx2", "fma"))) {
      return "-onednn-avx2";
    }
    return "";
  }

  private static String arch() {
    return System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
  }

  private static Set<String> cpuFlags() {
    try {
      for (final String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
        if (line.startsWith("flags")) {
          final int colon = line.indexOf(':');
          return new HashSet<>(Arrays.asList(line.substring(colon + 1).trim().split("\\s+")));
        }
      }
    } catch (IOException | RuntimeException e) {
      // Not Linux, or no procfs: the plain build runs everywhere.
    }
    return Set.of();
  }
}
