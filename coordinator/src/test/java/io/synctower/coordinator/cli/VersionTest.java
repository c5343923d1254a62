package io.synctower.coordinator.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class VersionTest {
  @Test
  void versionShouldNameTheBackendAndNativeLibraryThatLoaded() {
    final CliRun run = CliRun.of("--version");
    assertEquals(0, run.code(), run.all());
    // ND4J's own report and the library the process mapped, not the JavaCPP request property.
    assertTrue(
        run.out().contains("ND4J backend: CPU (org.nd4j.linalg.cpu.nativecpu.CpuBackend, BLAS "),
        run.all());
    assertTrue(run.out().matches("(?s).*native library /\\S*/libnd4jcpu\\.so.*"), run.all());
    assertFalse(run.out().contains("native variant"), run.all());
  }
}
