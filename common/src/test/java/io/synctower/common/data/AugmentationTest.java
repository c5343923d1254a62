package io.synctower.common.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * The crop and flip against hand-worked images, and the draws: uniform, independent of each other,
 * a pure function of (seed, epoch, index), different between epochs. The statistical bounds are
 * checked on fixed seeds, so they cannot flake; each is several standard deviations wide.
 */
class AugmentationTest {
  /** 2x3, one channel: rows [1 2 3] and [4 5 6]. */
  private static final SampleShape SMALL = new SampleShape(1, 2, 3);

  private static final float[] IMAGE = {1, 2, 3, 4, 5, 6};

  private static float[] crop(final int top, final int left, final boolean mirror) {
    final float[] out = new float[6];
    new Augmentation(1, true).crop(IMAGE, out, SMALL, top, left, mirror);
    return out;
  }

  @Test
  void aCropOfTheZeroPaddedImageIsTheHandWorkedWindow() {
    // Padded by 1:   0 0 0 0 0 / 0 1 2 3 0 / 0 4 5 6 0 / 0 0 0 0 0
    assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, crop(1, 1, false), "the centre: the image");
    assertArrayEquals(new float[] {0, 0, 0, 2, 3, 0}, crop(0, 2, false), "top right");
    assertArrayEquals(new float[] {0, 4, 5, 0, 0, 0}, crop(2, 0, false), "bottom left");
    assertArrayEquals(new float[] {0, 0, 0, 0, 1, 2}, crop(0, 0, false), "top left");
  }

  @Test
  void theFlipMirrorsTheCroppedWindowAsRandomCropThenRandomHorizontalFlip() {
    assertArrayEquals(new float[] {3, 2, 1, 6, 5, 4}, crop(1, 1, true));
    // Window top right is [0 0 0 / 2 3 0]; mirrored [0 0 0 / 0 3 2].
    assertArrayEquals(new float[] {0, 0, 0, 0, 3, 2}, crop(0, 2, true));
  }

  @Test
  void channelsOfAPixelMoveTogetherInFloatAndInDouble() {
    final SampleShape rgb = new SampleShape(2, 1, 3); // one row of 3 pixels, 2 channels each
    final double[] image = {1, 10, 2, 20, 3, 30};
    final double[] out = new double[6];
    final Augmentation a = new Augmentation(2, false);
    a.crop(image, out, rgb, 2, 1, true); // window columns 1..3 of [0 0 1 2 3 0 0]: [0 1 2]
    assertArrayEquals(new double[] {2, 20, 1, 10, 0, 0}, out, "mirrored: [2 1 0]");
    final float[] out32 = new float[6];
    a.crop(new float[] {1, 10, 2, 20, 3, 30}, out32, rgb, 2, 4, false); // columns 4..6: [3 0 0]
    assertArrayEquals(new float[] {3, 30, 0, 0, 0, 0}, out32);
  }

  @Test
  void paddingZeroWithoutFlipIsTheIdentity() {
    final AugmentedEpoch e = new Augmentation(0, false).epoch(3, 1);
    final float[] out = new float[6];
    for (int i = 0; i < 50; i++) {
      assertEquals(0, e.top(i));
      assertEquals(0, e.left(i));
      assertFalse(e.mirrors(i));
      e.apply(IMAGE, out, SMALL, i);
      assertArrayEquals(IMAGE, out);
    }
  }

  @Test
  void aPlacementOutsideThePaddedImageIsRefused() {
    final IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> crop(3, 0, false));
    assertTrue(e.getMessage().contains("top=3") && e.getMessage().contains("0..2"), e.getMessage());
  }

  @Test
  void aPaddingAsLargeAsTheImageIsRefusedNamingTheLargestThatFits() {
    new Augmentation(1, true).checkCompatible(SMALL); // min(2, 3) - 1 = 1 fits
    final IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> new Augmentation(2, true).checkCompatible(SMALL));
    assertTrue(e.getMessage().contains("use at most 1"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> new Augmentation(-1, false));
  }

  @Test
  void flipsComeUpHalfTheTimeAndOffsetsAreUniformOverTheNinePositions() {
    final AugmentedEpoch e = new Augmentation(4, true).epoch(7, 0);
    final int n = 90_000;
    int flips = 0;
    final int[] tops = new int[9];
    final int[] lefts = new int[9];
    final int[][] joint = new int[9][9];
    int flipsWithTopZero = 0;
    for (int i = 0; i < n; i++) {
      final boolean m = e.mirrors(i);
      flips += m ? 1 : 0;
      tops[e.top(i)]++;
      lefts[e.left(i)]++;
      joint[e.top(i)][e.left(i)]++;
      if (m && e.top(i) == 0) {
        flipsWithTopZero++;
      }
    }
    // Binomial(90000, 1/2): sd 150; 1000 is more than 6 sd.
    assertEquals(n / 2.0, flips, 1000, "flips");
    for (int k = 0; k < 9; k++) {
      // Binomial(90000, 1/9): sd 94; 600 is more than 6 sd.
      assertEquals(n / 9.0, tops[k], 600, "top " + k);
      assertEquals(n / 9.0, lefts[k], 600, "left " + k);
      for (int l = 0; l < 9; l++) {
        // Binomial(90000, 1/81): sd 33; 200 is 6 sd. Catches top and left drawn alike.
        assertEquals(n / 81.0, joint[k][l], 200, "top " + k + " left " + l);
      }
    }
    // Flip independent of top: P(flip and top 0) = 1/18, sd 68.
    assertEquals(n / 18.0, flipsWithTopZero, 420);
  }

  @Test
  void withoutFlipNothingIsMirrored() {
    final AugmentedEpoch e = new Augmentation(4, false).epoch(7, 0);
    for (int i = 0; i < 1000; i++) {
      assertFalse(e.mirrors(i));
    }
  }

  @Test
  void theDrawsArePureFunctionsOfSeedEpochAndIndexAndDifferBetweenEpochsAndSeeds() {
    final Augmentation a = new Augmentation(4, true);
    final AugmentedEpoch e = a.epoch(11, 2);
    final AugmentedEpoch again = a.epoch(11, 2);
    final AugmentedEpoch nextEpoch = a.epoch(11, 3);
    final AugmentedEpoch otherSeed = a.epoch(12, 2);
    int sameAsNextEpoch = 0;
    int sameAsOtherSeed = 0;
    // Backwards, so that an implementation with state (a stream) would see another order.
    for (int i = 999; i >= 0; i--) {
      assertEquals(e.top(i), again.top(i));
      assertEquals(e.left(i), again.left(i));
      assertEquals(e.mirrors(i), again.mirrors(i));
      sameAsNextEpoch += samePlacement(e, nextEpoch, i) ? 1 : 0;
      sameAsOtherSeed += samePlacement(e, otherSeed, i) ? 1 : 0;
    }
    // 162 placements: about 6 of 1000 agree by chance.
    assertTrue(sameAsNextEpoch < 30, sameAsNextEpoch + " of 1000 alike in epochs 2 and 3");
    assertTrue(sameAsOtherSeed < 30, sameAsOtherSeed + " of 1000 alike for seeds 11 and 12");
  }

  @Test
  void preciseBnPassesDrawApartFromTrainingEpochsAndFromEachOther() {
    final Augmentation a = new Augmentation(4, true);
    final PreciseBnBatches batches = new PreciseBnBatches(11, 0, 1000, 10);
    int sameAsEpoch = 0;
    int sameAsNextPass = 0;
    for (int i = 0; i < 1000; i++) {
      sameAsEpoch += samePlacement(batches.augmentation(a, 0), a.epoch(11, 0), i) ? 1 : 0;
      sameAsNextPass +=
          samePlacement(batches.augmentation(a, 0), batches.augmentation(a, 1), i) ? 1 : 0;
    }
    assertTrue(sameAsEpoch < 30, sameAsEpoch + " of 1000 alike in pass 0 and epoch 0");
    assertTrue(sameAsNextPass < 30, sameAsNextPass + " of 1000 alike in passes 0 and 1");
  }

  private static boolean samePlacement(
      final AugmentedEpoch a, final AugmentedEpoch b, final int index) {
    return a.top(index) == b.top(index)
        && a.left(index) == b.left(index)
        && a.mirrors(index) == b.mirrors(index);
  }
}
