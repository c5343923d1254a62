package io.synctower.common.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

@Timeout(20)
class PrefetcherTest {
  private static final SampleShape SHAPE = new SampleShape(3, 2, 2);
  private static final int N = SHAPE.elementCount();

  @ParameterizedTest
  @ValueSource(ints = {2, 3})
  void shouldDeliverTheSameBatchesAsDirectAssemblyForAWholeEpoch(final int buffers)
      throws Exception {
    final Dataset data = new RampDataset(23, SHAPE, 2, 7);
    final BatchPlan plan =
        BatchPlan.of(EpochPermutation.of(1, 0, 23), 5, false); // 5 batches, last 3
    final BatchAssembler direct = new BatchAssembler(data, null);
    final INDArray expectedX = direct.allocate(DataType.FLOAT, 5);
    final int[] expectedLabels = new int[10];
    int seen = 0;
    try (Prefetcher prefetcher = Prefetcher.start(data, null, plan, DataType.FLOAT, buffers)) {
      while (prefetcher.hasNext()) {
        final Batch batch = prefetcher.next();
        assertEquals(seen, batch.index());
        final int count =
            direct.fill(plan.order(), plan.from(seen), plan.count(seen), expectedX, expectedLabels);
        assertEquals(count, batch.count());
        assertArrayEquals(
            Arrays.copyOf(expectedX.data().asFloat(), count * N),
            Arrays.copyOf(batch.x().data().asFloat(), count * N));
        assertArrayEquals(
            Arrays.copyOf(expectedLabels, count * 2), Arrays.copyOf(batch.labels(), count * 2));
        batch.release();
        seen++;
      }
      assertEquals(5, seen);
    }
  }

  @Test
  void shouldRethrowADatasetFailureFromNextWithItsCauseAfterTheGoodBatches() throws Exception {
    final int[] order = {0, 1, 2, 3, 4, 5};
    final Dataset data = new RampDataset(6, SHAPE, 1, 3, 4); // index 4 is in batch 2
    try (Prefetcher prefetcher =
        Prefetcher.start(data, null, BatchPlan.of(order, 2, false), DataType.FLOAT, 2)) {
      prefetcher.next().release();
      prefetcher.next().release();
      final DataException e = assertThrows(DataException.class, prefetcher::next);
      assertTrue(e.getMessage().contains("batch 2"), e.getMessage());
      assertTrue(e.getCause() instanceof DataException);
      assertTrue(
          e.getCause().getMessage().contains("sample 4 is broken"), e.getCause().getMessage());
      assertFalse(prefetcher.hasNext());
      assertSame(e, assertThrows(DataException.class, prefetcher::next));
    }
  }

  @Test
  void shouldStopTheWorkerThreadWhenClosedMidEpoch() throws Exception {
    final Dataset data = new RampDataset(1000, SHAPE, 1, 3);
    final Prefetcher prefetcher =
        Prefetcher.start(
            data,
            null,
            BatchPlan.of(EpochPermutation.of(2, 0, 1000), 4, false),
            DataType.DOUBLE,
            2);
    final Batch held = prefetcher.next(); // held: the worker fills the other buffer, then blocks
    assertEquals(0, held.index());
    assertTrue(prefetcher.worker().isAlive());
    prefetcher.close();
    assertFalse(prefetcher.worker().isAlive());
    assertThrows(IllegalStateException.class, prefetcher::next);
    prefetcher.close(); // idempotent
  }

  @Test
  void shouldThrowInterruptedExceptionFromNextAndStayUsable() throws Exception {
    final Dataset data = new RampDataset(8, SHAPE, 1, 3);
    try (Prefetcher prefetcher =
        Prefetcher.start(
            data, null, BatchPlan.of(new int[] {0, 1, 2, 3}, 2, false), DataType.FLOAT, 2)) {
      Thread.currentThread().interrupt();
      assertThrows(InterruptedException.class, prefetcher::next);
      assertFalse(Thread.currentThread().isInterrupted());
      assertEquals(0, prefetcher.next().index());
    }
  }

  @Test
  void shouldRejectNextWhenEveryBufferIsHeldAndADoubleRelease() throws Exception {
    final Dataset data = new RampDataset(8, SHAPE, 1, 3);
    try (Prefetcher prefetcher =
        Prefetcher.start(
            data, null, BatchPlan.of(new int[] {0, 1, 2, 3, 4, 5}, 2, false), DataType.FLOAT, 2)) {
      final Batch a = prefetcher.next();
      prefetcher.next();
      final IllegalStateException full =
          assertThrows(IllegalStateException.class, prefetcher::next);
      assertTrue(full.getMessage().contains("release()"), full.getMessage());
      a.release();
      assertThrows(IllegalStateException.class, a::release);
      assertEquals(2, prefetcher.next().index());
    }
  }
}
