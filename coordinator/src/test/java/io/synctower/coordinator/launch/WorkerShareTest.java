package io.synctower.coordinator.launch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import io.synctower.common.backend.NativeThreads;
import io.synctower.coordinator.towers.CoreShare;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A tower's results depend on its OpenMP team size, so N worker processes on one host must give
 * each tower the same count as N tower threads do: the OMP_NUM_THREADS a worker is started with is
 * the thread share.
 */
class WorkerShareTest {
  @ParameterizedTest(name = "{0} workers")
  @ValueSource(ints = {1, 2, 3, 4, 7})
  void workerProcessesGetTheShareTowerThreadsGet(final int n) {
    assumeFalse(NativeThreads.userSet(), "OMP_NUM_THREADS set: children inherit it as it is");
    final Map<String, String> environment = new HashMap<>();
    WorkerProcesses.shareCores(environment, n);
    try (CoreShare threads = CoreShare.of(n)) {
      assertEquals(
          Integer.toString(threads.perTower()), environment.get(NativeThreads.ENVIRONMENT));
    }
  }
}
