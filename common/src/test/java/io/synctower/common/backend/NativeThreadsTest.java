package io.synctower.common.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The share rule, and that ND4J's OpenMP team size is a per-thread setting: what one tower thread
 * sets is what its own ops get and no other thread's.
 */
class NativeThreadsTest {
  @Test
  void eachTowerGetsCoresOverTowersAndAtLeastOne() {
    assertEquals(2, NativeThreads.share(2, 1));
    assertEquals(1, NativeThreads.share(2, 2));
    assertEquals(1, NativeThreads.share(2, 3)); // more towers than cores: one each
    assertEquals(2, NativeThreads.share(8, 3)); // rounded down: never more threads than cores
    assertEquals(4, NativeThreads.share(16, 4));
    assertThrows(IllegalArgumentException.class, () -> NativeThreads.share(2, 0));
    assertThrows(IllegalArgumentException.class, () -> NativeThreads.share(0, 1));
    assertThrows(IllegalArgumentException.class, () -> NativeThreads.limitCurrentThread(0));
  }

  @Test
  void theTeamSizeIsSetPerThreadAndSurvivesTheThreadsOps() throws Exception {
    assumeTrue(NativeThreads.cpuBackend(), "OpenMP team sizes are a CPU-backend setting");
    final int before = NativeThreads.currentThread();
    final int mine = before + 1; // differs from whatever the default is (OMP_NUM_THREADS or cores)
    final AtomicInteger seenBySetter = new AtomicInteger();
    final AtomicInteger seenByOther = new AtomicInteger();
    final CountDownLatch set = new CountDownLatch(1);
    final CountDownLatch done = new CountDownLatch(1);
    final Thread setter =
        new Thread(
            () -> {
              NativeThreads.limitCurrentThread(mine);
              set.countDown();
              // Ops in between (a GEMM and a libnd4j reduction) must not reset it.
              final INDArray a = Nd4j.rand(DataType.FLOAT, 64, 64);
              a.mmul(a).sumNumber();
              seenBySetter.set(NativeThreads.currentThread());
              try {
                done.await();
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            });
    setter.start();
    set.await();
    final Thread other = new Thread(() -> seenByOther.set(NativeThreads.currentThread()));
    other.start();
    other.join();
    done.countDown();
    setter.join();
    assertEquals(mine, seenBySetter.get(), "the setting thread's own team size");
    assertEquals(before, seenByOther.get(), "another thread keeps the default");
    assertEquals(before, NativeThreads.currentThread(), "this thread keeps the default");
  }
}
