package io.synctower.common.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * Precise BN's batches: full global batches only, K wraps into further passes, every pass a
 * permutation of the whole set that no training epoch and no other round shares.
 */
class PreciseBnBatchesTest {
  @Test
  void shouldTakeFullBatchesAndWrapIntoFurtherPasses() {
    final PreciseBnBatches b = new PreciseBnBatches(9, 1, 24, 7); // 3 full batches, 3 left
    assertEquals(3, b.batchesPerPass());
    assertEquals(1, b.passes(3));
    assertEquals(2, b.passes(5));
    assertEquals(3, b.batchesIn(0, 5));
    assertEquals(2, b.batchesIn(1, 5));
    assertEquals(4, b.passes(10));
    assertEquals(1, b.batchesIn(3, 10));
    assertEquals(0, b.batchesIn(4, 10));
  }

  @Test
  void everyPassIsAPermutationOfItsOwn() {
    final PreciseBnBatches b = new PreciseBnBatches(9, 1, 24, 7);
    final int[] all = IntStream.range(0, 24).toArray();
    for (int pass = 0; pass < 3; pass++) {
      final int[] sorted = b.order(pass).clone();
      Arrays.sort(sorted);
      assertArrayEquals(all, sorted, "pass " + pass);
    }
    assertFalse(Arrays.equals(b.order(0), b.order(1)), "the next pass visits in another order");
    assertArrayEquals(b.order(1), new PreciseBnBatches(9, 1, 24, 7).order(1), "deterministic");
    assertFalse(
        Arrays.equals(b.order(0), new PreciseBnBatches(9, 2, 24, 7).order(0)), "rounds differ");
    for (int epoch = 0; epoch <= 3; epoch++) {
      assertFalse(
          Arrays.equals(b.order(0), EpochPermutation.of(9, epoch, 24)),
          "not training epoch " + epoch + "'s order");
    }
  }

  @Test
  void shouldRefuseNoFullBatchAndNonPositiveCounts() {
    final IllegalArgumentException small =
        assertThrows(IllegalArgumentException.class, () -> new PreciseBnBatches(1, 0, 6, 7));
    assertTrue(small.getMessage().contains("6 training samples, batch size 7"), small.getMessage());
    final PreciseBnBatches b = new PreciseBnBatches(1, 0, 24, 7);
    assertThrows(IllegalArgumentException.class, () -> b.passes(0));
    assertThrows(IllegalArgumentException.class, () -> b.batchesIn(0, -1));
  }
}
