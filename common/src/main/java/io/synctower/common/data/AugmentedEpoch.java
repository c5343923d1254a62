package io.synctower.common.data;

import java.util.Objects;

/**
 * An {@link Augmentation} bound to one epoch's draws: where sample {@code index} is cropped and
 * whether it is mirrored is a pure function of (this epoch's stream, {@code index}).
 *
 * <p>Why the dataset index and not the position in the batch order: each index appears once per
 * epoch (the order is a permutation), so both name a sample equally well, but the index needs
 * nothing else to be known: the same sample gets the same crop whatever the batch size, tower
 * count, shard or prefetch position, and a resumed run recomputes it from the index alone.
 *
 * <p>The generator is counter-based, SplitMix64-style: {@code base = mix64(stream + (index+1) *
 * gamma)}, draw {@code k} is {@code mix64(base + k * gamma)} (k = 1 top, 2 left, 3 flip), with
 * {@link EpochPermutation#mix64} and gamma the golden-ratio increment. A draw in {@code 0..n-1} is
 * the high 32 bits scaled by n (Lemire's multiply-shift; its bias, below n / 2^32, is far below
 * anything a training run can see); the flip is the draw's sign bit (probability exactly 1/2).
 * Integer arithmetic only, no state: identical on every machine and thread. Immutable.
 */
public final class AugmentedEpoch {
  private static final long GAMMA = 0x9E3779B97F4A7C15L;

  private final Augmentation augmentation;
  private final long stream;
  private final int positions;

  AugmentedEpoch(final Augmentation augmentation, final long stream) {
    this.augmentation = Objects.requireNonNull(augmentation, "augmentation");
    this.stream = stream;
    this.positions = 2 * augmentation.cropPadding() + 1;
  }

  /** The settings this epoch draws for. */
  public Augmentation augmentation() {
    return augmentation;
  }

  /** Top of sample {@code index}'s crop window in the padded image, {@code 0 .. 2p}. */
  public int top(final int index) {
    return bounded(draw(index, 1), positions);
  }

  /** Left of sample {@code index}'s crop window in the padded image, {@code 0 .. 2p}. */
  public int left(final int index) {
    return bounded(draw(index, 2), positions);
  }

  /** Whether sample {@code index} is mirrored left-right (always false without flip). */
  public boolean mirrors(final int index) {
    return augmentation.flip() && draw(index, 3) < 0;
  }

  /**
   * Writes sample {@code index}'s augmented pixels: {@code source} (as the dataset gave it, before
   * normalization) cropped and mirrored into {@code target}. Allocates nothing.
   */
  public void apply(
      final float[] source, final float[] target, final SampleShape shape, final int index) {
    augmentation.crop(source, target, shape, top(index), left(index), mirrors(index));
  }

  /** As {@link #apply(float[], float[], SampleShape, int)}, in double precision. */
  public void apply(
      final double[] source, final double[] target, final SampleShape shape, final int index) {
    augmentation.crop(source, target, shape, top(index), left(index), mirrors(index));
  }

  private long draw(final int index, final int k) {
    final long base = EpochPermutation.mix64(stream + (index + 1L) * GAMMA);
    return EpochPermutation.mix64(base + k * GAMMA);
  }

  private static int bounded(final long draw, final int n) {
    return (int) (((draw >>> 32) * n) >>> 32);
  }
}
