package io.synctower.common.backend;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Properties;
import org.nd4j.linalg.factory.Nd4j;

/**
 * What ND4J actually loaded in this JVM, for {@code --version} and bug reports: the backend (CPU or
 * CUDA, chosen by ND4J from the classpath), its BLAS, and the native library file the process
 * mapped. The JavaCPP property that asks for a native build is a wish; the mapped file is the fact
 * (a wrong or ignored property silently loads another build).
 *
 * @param backend ND4J's own name for it, {@code CPU} or {@code CUDA}
 * @param backendClass the {@code Nd4jBackend} implementation ND4J chose
 * @param blas the BLAS vendor ND4J reports, e.g. {@code OPENBLAS} or {@code CUBLAS}
 * @param nativeLibrary the mapped {@code libnd4j*.so} path, or a sentence saying why unknown
 * @param threads ND4J's OpenMP threads per op (its {@code omp.threads})
 * @param devices the devices the backend sees (1 on the CPU backend; GPUs on CUDA, after {@code
 *     CUDA_VISIBLE_DEVICES})
 */
public record LoadedBackend(
    String backend,
    String backendClass,
    String blas,
    String nativeLibrary,
    int threads,
    int devices) {

  /** Loads ND4J if it is not loaded yet (seconds) and describes it. */
  public static LoadedBackend describe() {
    final String backendClass = Nd4j.getBackend().getClass().getName();
    final Properties env = Nd4j.getExecutioner().getEnvironmentInformation();
    return new LoadedBackend(
        env.getProperty("backend", "unknown"),
        backendClass,
        env.getProperty("blas.vendor", "unknown"),
        mappedLibrary(Path.of("/proc/self/maps")),
        // ND4J stores the count as an Integer, which Properties.getProperty does not return.
        Integer.parseInt(String.valueOf(env.getOrDefault("omp.threads", "0"))),
        Nd4j.getAffinityManager().getNumberOfDevices());
  }

  /**
   * The one line a command prints about its backend instead of ND4J's own start-up log (about 15
   * INFO lines, shown again by {@code --verbose}): {@code ND4J CPU backend, native build
   * linux-x86_64-onednn-avx512, BLAS OPENBLAS, 2 threads}; on CUDA the device count instead of the
   * threads.
   */
  public String startupLine() {
    return "ND4J "
        + backend
        + " backend, native build "
        + nativePlatform()
        + ", BLAS "
        + blas
        + ("CPU".equals(backend)
            ? ", " + threads + (threads == 1 ? " thread" : " threads")
            : ", " + devices + (devices == 1 ? " device" : " devices"));
  }

  /** One line: {@code CPU (org...CpuBackend, OPENBLAS), native library /path/libnd4jcpu.so}. */
  public String describeLine() {
    return backend
        + " ("
        + backendClass
        + ", BLAS "
        + blas
        + ("CPU".equals(backend) ? "" : ", " + devices + " device(s)")
        + "), native library "
        + nativeLibrary;
  }

  /**
   * The native build the mapped library belongs to, read from the directory JavaCPP extracted it
   * into ({@code .../bindings/linux-x86_64-onednn-avx512/libnd4jcpu.so}): its suffix after the
   * platform ({@code -onednn-avx512}, {@code -onednn-avx2}), "" for the plain build, or {@code
   * null} when no library path is known. Same spelling as {@link NativeVariant#select()}'s result,
   * so the build asked for and the build loaded compare with {@code equals}.
   */
  public String nativeBuild() {
    return buildOf(nativeLibrary);
  }

  /**
   * The platform directory the mapped library was extracted into, e.g. {@code
   * linux-x86_64-onednn-avx512} (the build that really runs), or {@code unknown}.
   */
  public String nativePlatform() {
    if (!nativeLibrary.startsWith("/")) {
      return "unknown";
    }
    final int file = nativeLibrary.lastIndexOf('/');
    return nativeLibrary.substring(nativeLibrary.lastIndexOf('/', file - 1) + 1, file);
  }

  /** See {@link #nativeBuild()}; {@code path} is a mapped library path or an "unknown" sentence. */
  static String buildOf(final String path) {
    if (!path.startsWith("/")) {
      return null;
    }
    final int file = path.lastIndexOf('/');
    final int dir = path.lastIndexOf('/', file - 1);
    final String platform = path.substring(dir + 1, file);
    final int dash = platform.indexOf('-', platform.indexOf('-') + 1);
    // linux-x86_64 has one dash; a variant adds its suffix after the second.
    return dash < 0 ? "" : platform.substring(dash);
  }

  /** The first mapped ND4J native library in a {@code /proc/<pid>/maps} file. */
  static String mappedLibrary(final Path maps) {
    final List<String> lines;
    try {
      lines = Files.readAllLines(maps);
    } catch (IOException | RuntimeException e) {
      return "unknown (" + maps + " unreadable: not Linux?)";
    }
    for (final String line : lines) {
      final int slash = line.indexOf('/');
      if (slash >= 0) {
        final String path = line.substring(slash).trim();
        final String file = path.substring(path.lastIndexOf('/') + 1);
        if (file.startsWith("libnd4j") && file.contains(".so")) {
          return path;
        }
      }
    }
    return "unknown (no libnd4j*.so mapped in " + maps + ")";
  }
}
