package io.synctower.common.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class SplitTest {
  private static final Dataset DATA = new OverfitDataset(100);

  private static int[] parents(final Subset s) {
    return IntStream.range(0, s.size()).map(s::parentIndex).toArray();
  }

  @Test
  void shouldMapSubsetIndicesToParentSamples() {
    final Subset s = new Subset(DATA, new int[] {42, 7});
    final int[] labels = new int[1];
    s.sample(1, new float[29 * 29 * 3], labels, 0);
    assertEquals(7, labels[0]); // OverfitDataset labels each image with its own index
    assertEquals(2, s.size());
  }

  @Test
  void shouldRejectAnIndexOutsideTheParentNamingItsPosition() {
    final IndexOutOfBoundsException e =
        assertThrows(IndexOutOfBoundsException.class, () -> new Subset(DATA, new int[] {1, 100}));
    assertTrue(e.getMessage().contains("indices[1] = 100 outside 0..99"), e.getMessage());
  }

  @Test
  void shouldSplitIntoDisjointSortedPartsThatCoverTheDataset() {
    final Split split = Split.of(DATA, 0.2, 5);
    assertEquals(20, split.validation().size());
    assertEquals(80, split.train().size());
    final int[] all =
        IntStream.concat(
                Arrays.stream(parents(split.train())), Arrays.stream(parents(split.validation())))
            .sorted()
            .toArray();
    assertArrayEquals(IntStream.range(0, 100).toArray(), all);
    final int[] t = parents(split.train());
    assertArrayEquals(Arrays.stream(t).sorted().toArray(), t);
  }

  @Test
  void shouldBeDeterministicPerSeedAndDifferAcrossSeeds() {
    assertArrayEquals(
        parents(Split.of(DATA, 0.3, 9).validation()), parents(Split.of(DATA, 0.3, 9).validation()));
    assertFalse(
        Arrays.equals(
            parents(Split.of(DATA, 0.3, 9).validation()),
            parents(Split.of(DATA, 0.3, 10).validation())));
  }

  @Test
  void shouldRejectAFractionOfOne() {
    assertThrows(IllegalArgumentException.class, () -> Split.of(DATA, 1.0, 1));
  }
}
