package io.synctower.common.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LoadedBackendTest {
  @Test
  void theCpuBackendShouldBeReportedWithItsMappedLibrary() {
    final LoadedBackend b = LoadedBackend.describe();
    assertEquals("CPU", b.backend(), b.toString());
    assertEquals("org.nd4j.linalg.cpu.nativecpu.CpuBackend", b.backendClass());
    assertTrue(b.nativeLibrary().endsWith("/libnd4jcpu.so"), b.nativeLibrary());
    // The library lives under a directory named for its build, e.g. linux-x86_64-onednn-avx2.
    assertTrue(b.nativeLibrary().contains("/linux-x86_64"), b.nativeLibrary());
  }

  @Test
  void theStartupLineShouldNameBackendBuildBlasAndThreads() {
    final LoadedBackend cpu =
        new LoadedBackend(
            "CPU",
            "org.nd4j.linalg.cpu.nativecpu.CpuBackend",
            "OPENBLAS",
            "/c/bindings/linux-x86_64-onednn-avx2/libnd4jcpu.so",
            2,
            1);
    assertEquals(
        "ND4J CPU backend, native build linux-x86_64-onednn-avx2, BLAS OPENBLAS, 2 threads",
        cpu.startupLine());
    final LoadedBackend cuda =
        new LoadedBackend(
            "CUDA",
            "org.nd4j.linalg.jcublas.JCublasBackend",
            "CUBLAS",
            "/c/linux-x86_64/libnd4jcuda.so",
            8,
            4);
    assertEquals(
        "ND4J CUDA backend, native build linux-x86_64, BLAS CUBLAS, 4 devices", cuda.startupLine());
    assertTrue(cuda.describeLine().contains("4 device(s)"), cuda.describeLine());
    assertTrue(
        LoadedBackend.describe()
            .startupLine()
            .matches(
                "ND4J CPU backend, native build linux-x86_64.*, BLAS \\w+, [1-9]\\d* threads?"),
        LoadedBackend.describe().startupLine());
  }

  @Test
  void theMappedLibraryShouldBeReadFromTheMapsFile(@TempDir final Path dir) throws IOException {
    final Path maps = dir.resolve("maps");
    Files.writeString(
        maps,
        """
        7f00-7f01 r-xp 00000000 08:01 1 /usr/lib/libc.so.6
        7f02-7f03 rw-p 00000000 00:00 0
        7f04-7f05 r-xp 00000000 08:01 2 /cache/nd4j-cuda/linux-x86_64/libnd4jcuda.so
        """);
    assertEquals("/cache/nd4j-cuda/linux-x86_64/libnd4jcuda.so", LoadedBackend.mappedLibrary(maps));
  }

  @Test
  void noMappedLibraryShouldBeSaidSo(@TempDir final Path dir) throws IOException {
    final Path maps = dir.resolve("maps");
    Files.writeString(maps, "7f00-7f01 r-xp 00000000 08:01 1 /usr/lib/libc.so.6\n");
    assertTrue(LoadedBackend.mappedLibrary(maps).startsWith("unknown (no libnd4j"));
    assertTrue(LoadedBackend.mappedLibrary(dir.resolve("absent")).startsWith("unknown ("));
  }

  @Test
  void theBuildShouldBeReadFromTheLibraryDirectory() {
    final String bindings = "/h/.javacpp/cache/x.jar/org/nd4j/linalg/cpu/nativecpu/bindings/";
    assertEquals("", LoadedBackend.buildOf(bindings + "linux-x86_64/libnd4jcpu.so"));
    assertEquals(
        "-onednn-avx512",
        LoadedBackend.buildOf(bindings + "linux-x86_64-onednn-avx512/libnd4jcpu.so"));
    assertEquals(
        "-onednn-avx2", LoadedBackend.buildOf(bindings + "linux-x86_64-onednn-avx2/libnd4jcpu.so"));
    assertEquals(null, LoadedBackend.buildOf("unknown (no libnd4j*.so mapped in /proc/self/maps)"));
  }
}
