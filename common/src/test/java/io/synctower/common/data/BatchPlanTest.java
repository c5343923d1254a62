package io.synctower.common.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class BatchPlanTest {
  private static final int[] ORDER = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0};

  @Test
  void shouldKeepAShorterLastBatchUnlessDropLast() {
    final BatchPlan keep = BatchPlan.of(ORDER, 4, false);
    assertEquals(3, keep.batchCount());
    assertEquals(8, keep.from(2));
    assertEquals(2, keep.count(2));
    assertEquals(2, BatchPlan.of(ORDER, 4, true).batchCount());
  }

  @Test
  void shouldGiveEachShardItsSliceOfEveryGlobalBatch() {
    // Global batches of 4: [0,4) [4,8) [8,10). Shard [2,4) takes positions 2-3, 6-7, and nothing
    // of the last (only 2 samples, at global offsets 0-1).
    final BatchPlan second = BatchPlan.shard(ORDER, 4, 2, 2, false);
    assertEquals(3, second.batchCount());
    assertEquals(2, second.from(0));
    assertEquals(6, second.from(1));
    assertEquals(2, second.count(1));
    assertEquals(0, second.count(2));
    final BatchPlan first = BatchPlan.shard(ORDER, 4, 0, 2, false);
    assertEquals(8, first.from(2));
    assertEquals(2, first.count(2));
  }

  @Test
  void shouldRejectAShardOutsideTheGlobalBatch() {
    assertThrows(IllegalArgumentException.class, () -> BatchPlan.shard(ORDER, 4, 3, 2, true));
  }
}
