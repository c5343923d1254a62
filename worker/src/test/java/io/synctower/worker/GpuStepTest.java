package io.synctower.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.synctower.common.backend.LoadedBackend;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * One training step on the GPU equals the same step on the CPU (the committed reference that {@code
 * CpuStepReferenceTest} keeps honest), within float64 rounding of a different summation order. Runs
 * only with {@code mvn -Pcuda} on a host with an NVIDIA GPU and CUDA 11.6 (the default build
 * excludes the "gpu" tag and has no CUDA jars); a stale device copy after a host write (see {@code
 * HostMemory}) would show here as values that are off by far more than rounding.
 */
@Tag("gpu")
class GpuStepTest {
  @Test
  void oneGpuStepShouldMatchTheCpuStep() throws Exception {
    final LoadedBackend backend = LoadedBackend.describe();
    assertEquals(
        "CUDA",
        backend.backend(),
        "the gpu tests need the CUDA backend (mvn -Pcuda on a GPU host), got "
            + backend.describeLine());
    BackendStep.assertClose(BackendStep.reference(), BackendStep.run(), 1e-9);
  }
}
