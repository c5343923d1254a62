package io.synctower.common.data;

import java.util.Arrays;
import java.util.Objects;

/**
 * A seeded train/validation split of one dataset: two disjoint {@link Subset}s covering it. The
 * same (dataset size, fraction, seed) gives the same split on every machine.
 *
 * @param train the training samples, parent indices ascending
 * @param validation the validation samples, parent indices ascending
 */
public record Split(Subset train, Subset validation) {
  /** Mixed into the seed so a split never equals the epoch-0 training order for the same seed. */
  private static final long SPLIT_SALT = 0x53504c4954L; // "SPLIT"

  public Split {
    Objects.requireNonNull(train, "train");
    Objects.requireNonNull(validation, "validation");
  }

  /**
   * Splits {@code dataset}: a seeded permutation ({@link EpochPermutation}) is cut after {@code
   * round(validationFraction * size)} entries; the first part is validation, the rest training.
   * Each part's indices are sorted, so reads stay in file order.
   *
   * @throws IllegalArgumentException if validationFraction is not in [0, 1)
   */
  public static Split of(final Dataset dataset, final double validationFraction, final long seed) {
    Objects.requireNonNull(dataset, "dataset");
    if (!(validationFraction >= 0.0 && validationFraction < 1.0)) {
      throw new IllegalArgumentException(
          "validationFraction must be in [0, 1), got " + validationFraction);
    }
    final int n = dataset.size();
    final int validationCount = (int) Math.round(validationFraction * n);
    final int[] order = EpochPermutation.of(seed ^ SPLIT_SALT, 0, n);
    final int[] validation = Arrays.copyOfRange(order, 0, validationCount);
    final int[] train = Arrays.copyOfRange(order, validationCount, n);
    Arrays.sort(validation);
    Arrays.sort(train);
    return new Split(
        new Subset(dataset, train, "train"), new Subset(dataset, validation, "validation"));
  }
}
