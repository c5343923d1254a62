package io.synctower.common.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class EpochPermutationTest {
  @ParameterizedTest
  @ValueSource(ints = {0, 1, 2, 7, 1000})
  void shouldContainEveryIndexExactlyOnce(final int size) {
    final int[] order = EpochPermutation.of(3, 1, size);
    final int[] sorted = order.clone();
    Arrays.sort(sorted);
    final int[] identity = new int[size];
    Arrays.setAll(identity, i -> i);
    assertArrayEquals(identity, sorted);
  }

  @Test
  void shouldGiveTheSameOrderForTheSameSeedAndEpoch() {
    assertArrayEquals(EpochPermutation.of(42, 5, 500), EpochPermutation.of(42, 5, 500));
  }

  @Test
  void shouldGiveDifferentOrdersForDifferentEpochs() {
    assertFalse(Arrays.equals(EpochPermutation.of(42, 0, 500), EpochPermutation.of(42, 1, 500)));
  }

  @Test
  void shouldGiveDifferentOrdersForDifferentSeeds() {
    assertFalse(Arrays.equals(EpochPermutation.of(1, 0, 500), EpochPermutation.of(2, 0, 500)));
  }

  @Test
  void shouldUseTheSplitMix64FinalizerFromThePublishedReference() {
    // Vigna's splitmix64.c seeded with 1234567 outputs 6457827717110365317 first:
    // output = mix64(state + gamma). SplittableRandom must follow the same algorithm, which is
    // what makes the permutation identical on every JVM.
    final long gamma = 0x9E3779B97F4A7C15L;
    assertEquals(6457827717110365317L, EpochPermutation.mix64(1234567L + gamma));
    assertEquals(6457827717110365317L, new SplittableRandom(1234567L).nextLong());
  }

  @Test
  void shouldMatchThePinnedOrderSoOtherMachinesCanCheckThemselves() {
    assertArrayEquals(new int[] {6, 2, 4, 7, 8, 3, 1, 5, 9, 0}, EpochPermutation.of(7, 3, 10));
  }

  @Test
  void shouldRejectNegativeSizeNamingIt() {
    final IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> EpochPermutation.of(1, 2, -4));
    assertTrue(e.getMessage().contains("-4"), e.getMessage());
  }
}
