package io.synctower.common.backend;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URL;
import java.util.Set;
import org.junit.jupiter.api.Test;

class NativeVariantTest {
  @Test
  void theCpuBuildShouldBeDetectedOnThisClasspath() {
    assertTrue(NativeVariant.cpuBackendWillLoad(NativeVariant.class.getClassLoader()));
  }

  @Test
  void aCudaBuildShouldBeLeftAlone() throws Exception {
    // -Pcuda: only the CUDA backend; both: ND4J picks CUDA (priority 100 over 0).
    assertFalse(NativeVariant.cpuBackendWillLoad(claiming(Set.of(NativeVariant.CUDA_BACKEND))));
    assertFalse(
        NativeVariant.cpuBackendWillLoad(
            claiming(Set.of(NativeVariant.CUDA_BACKEND, NativeVariant.CPU_BACKEND))));
    assertTrue(NativeVariant.cpuBackendWillLoad(claiming(Set.of(NativeVariant.CPU_BACKEND))));
  }

  /** A class loader whose classpath holds exactly {@code resources} (and nothing is loaded). */
  private static ClassLoader claiming(final Set<String> resources) throws Exception {
    final URL any = new URL("file:/nonexistent");
    return new ClassLoader(null) {
      @Override
      public URL getResource(final String name) {
        return resources.contains(name) ? any : null;
      }
    };
  }
}
