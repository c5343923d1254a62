package io.synctower.benchmarks.report;

import io.synctower.common.backend.LoadedBackend;
import io.synctower.common.backend.NativeVariant;
import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The ND4J backend the benchmarks ran on, in one line: backend class, ND4J version, the native
 * build that loads after {@link NativeVariant} selects on this machine (the benchmark JVMs select
 * the same way; the build named is the library this JVM mapped), BLAS vendor and OpenMP threads.
 * Loads ND4J (a few seconds).
 */
public final class BackendDescription {
  private BackendDescription() {}

  /**
   * e.g. {@code CpuBackend 1.0.0-M2.1, native linux-x86_64-onednn-avx512, blas OPENBLAS, omp 2}.
   */
  public static String describe() {
    NativeVariant.select();
    final String platform = LoadedBackend.describe().nativePlatform();
    final Properties env = Nd4j.getExecutioner().getEnvironmentInformation();
    final String version = nd4jVersion();
    return Nd4j.getBackend().getClass().getSimpleName()
        + " "
        + version
        + ", native "
        + platform
        + ", blas "
        + env.getOrDefault("blas.vendor", "unknown")
        + ", omp threads "
        + env.getOrDefault("omp.threads", "unknown");
  }

  /** From the nd4j-api jar's Maven metadata (its manifest has no version). */
  private static String nd4jVersion() {
    try (InputStream in =
        Nd4j.class.getResourceAsStream("/META-INF/maven/org.nd4j/nd4j-api/pom.properties")) {
      if (in != null) {
        final Properties p = new Properties();
        p.load(in);
        return p.getProperty("version", "version unknown");
      }
    } catch (IOException e) {
      // fall through: the description says so
    }
    return "version unknown";
  }
}
