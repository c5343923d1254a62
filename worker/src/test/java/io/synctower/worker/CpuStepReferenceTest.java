package io.synctower.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.synctower.common.backend.LoadedBackend;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * The CPU half of the CPU-vs-GPU check: the committed reference is what the CPU backend computes
 * for {@link BackendStep} today, so {@code GpuStepTest} compares the GPU with a live answer, not a
 * stale file.
 */
class CpuStepReferenceTest {
  @Test
  void theCpuBackendShouldReproduceTheStepReference() throws Exception {
    assertEquals("CPU", LoadedBackend.describe().backend(), "this test runs on the CPU backend");
    final double[] step = BackendStep.run();
    final String target = System.getProperty("synctower.writeStepReference");
    if (target != null) {
      BackendStep.write(step, Path.of(target));
      return; // regenerating: the resource on the classpath is the old file
    }
    // Same backend, same code: only a change to the model or a layer moves these values.
    BackendStep.assertClose(BackendStep.reference(), step, 1e-12);
  }
}
