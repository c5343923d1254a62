package io.synctower.coordinator.launch;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.synctower.common.backend.NativeMemoryReuse;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What a launched worker process finds in its environment. */
class WorkerEnvironmentTest {
  @Test
  void aWorkerShouldGetTheAllocatorSettingsAndItsShareOfTheCores() {
    final Map<String, String> env = new HashMap<>(Map.of("PATH", "/usr/bin"));
    WorkerProcesses.prepareEnvironment(env, 2);
    NativeMemoryReuse.SETTINGS.forEach((k, v) -> assertEquals(v, env.get(k), k));
    final int cores = Runtime.getRuntime().availableProcessors();
    assertEquals(Integer.toString(Math.max(1, cores / 2)), env.get("OMP_NUM_THREADS"));
    assertEquals("/usr/bin", env.get("PATH"));
  }

  @Test
  void valuesTheUserSetShouldWin() {
    final Map<String, String> env =
        new HashMap<>(Map.of("OMP_NUM_THREADS", "3", "MALLOC_TRIM_THRESHOLD_", "131072"));
    WorkerProcesses.prepareEnvironment(env, 4);
    assertEquals("3", env.get("OMP_NUM_THREADS"));
    assertEquals("131072", env.get("MALLOC_TRIM_THRESHOLD_"));
    assertEquals("1", env.get("MALLOC_ARENA_MAX"));
  }
}
