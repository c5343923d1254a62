package io.synctower.common.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class LayerProfileTest {
  @Test
  void shouldKeepOneSumPerLayerDirectionAndStep() {
    final LayerProfile p = new LayerProfile(2, 2);
    p.beginStep();
    p.forwardDone(0, 1_000_000);
    p.forwardDone(1, 2_000_000);
    p.backwardDone(1, 3_000_000);
    p.beginStep();
    p.forwardDone(0, 4_000_000);
    p.forwardDone(0, 1_000_000); // a layer called twice in one step adds up
    p.backwardDone(1, 5_000_000);
    assertArrayEquals(new double[] {1, 5}, p.millis(0, false));
    assertArrayEquals(new double[] {3, 5}, p.totalMillis(false));
    assertArrayEquals(new double[] {3, 5}, p.totalMillis(true));
    assertTrue(p.ranBackward(1));
    assertFalse(p.ranBackward(0), "a layer that never ran backward (frozen prefix) is not listed");
  }

  @Test
  void shouldRefuseMoreStepsThanItHasRoomFor() {
    final LayerProfile p = new LayerProfile(1, 1);
    p.beginStep();
    final IllegalStateException e = assertThrows(IllegalStateException.class, p::beginStep);
    assertTrue(e.getMessage().contains("1 steps"), e.getMessage());
  }
}
