package io.synctower.common.bn;

/**
 * SyncBN's forward statistics in one round: each tower's per-channel partials, gathered from every
 * tower of the sync group, merged into the group's (Chan, Golub &amp; LeVeque's pairwise update,
 * the way PyTorch's SyncBatchNorm merges its per-GPU statistics).
 *
 * <p>A tower's slot holds its count m_j, a centre c_j per channel (its own mean, rounded to the
 * layer's type) and its sums centred on it, {@code S_j = sum(x - c_j)} and {@code Q_j = sum((x -
 * c_j)^2)}. The group's centre C is the mean of the union, rounded the same way, and with {@code
 * d_j = c_j - C} the union's sums centred on C are
 *
 * <pre>
 *   S = sum_j (S_j + m_j d_j),     Q = sum_j (Q_j + 2 d_j S_j + m_j d_j^2)
 * </pre>
 *
 * exactly (the same shift identity as the union partials of {@link BatchNorm}). Every d_j is the
 * distance between two means of the same channel, of the order of the spread over sqrt(m_j), so no
 * term cancels against another: the variance {@code Q/m - (S/m)^2} keeps the accuracy of each
 * tower's two-pass sums. Towers are merged in rank order, so every tower computes the same bits.
 *
 * <p>The slots travel as one element-wise sum over zero-filled slots, each tower filling its own:
 * adding zeros is exact, so the sum is an all-gather. One collective per layer in forward instead
 * of two (the mean first, then the sums centred on it).
 */
final class GroupStatistics {
  private GroupStatistics() {}

  /** Length of one tower's slot: count, then C centres, C sums S, C sums Q. */
  static int slotLength(final int channels) {
    return 1 + 3 * channels;
  }

  /**
   * Writes one tower's partials into its slot of {@code slots}.
   *
   * @param centred {@code [S_0 .. S_(C-1), Q_0 .. Q_(C-1)]}, centred on {@code centre}
   */
  static void put(
      final double[] slots,
      final int rank,
      final int channels,
      final double count,
      final double[] centre,
      final double[] centred) {
    final int at = rank * slotLength(channels);
    slots[at] = count;
    System.arraycopy(centre, 0, slots, at + 1, channels);
    System.arraycopy(centred, 0, slots, at + 1 + channels, 2 * channels);
  }

  /**
   * Merges the slots of {@code members} towers into the group's statistics: returns the union's
   * count and leaves its centre in {@code centre} and the sums centred on it in {@code centred}
   * ({@code [S.., Q..]}). When a single tower has values, its own partials are the group's as they
   * are (bit for bit what that tower would compute alone). Empty slots (count 0) are skipped; when
   * all are empty, returns 0 and leaves both arrays unchanged.
   *
   * @param roundCentre whether the centre is rounded to float32 (a float32 layer: its centred
   *     passes then are exactly relative to the value the layer subtracts)
   */
  static double merge(
      final double[] slots,
      final int members,
      final int channels,
      final boolean roundCentre,
      final double[] centre,
      final double[] centred) {
    final int length = slotLength(channels);
    double m = 0;
    int filled = 0;
    int lastFilled = -1;
    for (int j = 0; j < members; j++) {
      final double mj = slots[j * length];
      if (mj > 0) {
        m += mj;
        filled++;
        lastFilled = j;
      }
    }
    if (filled == 0) {
      return 0;
    }
    if (filled == 1) {
      final int at = lastFilled * length;
      System.arraycopy(slots, at + 1, centre, 0, channels);
      System.arraycopy(slots, at + 1 + channels, centred, 0, 2 * channels);
      return m;
    }
    for (int c = 0; c < channels; c++) {
      double total = 0;
      for (int j = 0; j < members; j++) {
        final int at = j * length;
        final double mj = slots[at];
        if (mj > 0) {
          total += mj * slots[at + 1 + c] + slots[at + 1 + channels + c];
        }
      }
      final double mean = total / m;
      final double groupCentre = roundCentre ? (double) (float) mean : mean;
      double s = 0;
      double q = 0;
      for (int j = 0; j < members; j++) {
        final int at = j * length;
        final double mj = slots[at];
        if (mj > 0) {
          final double d = slots[at + 1 + c] - groupCentre;
          final double sj = slots[at + 1 + channels + c];
          s += sj + mj * d;
          q += slots[at + 1 + 2 * channels + c] + 2 * d * sj + mj * d * d;
        }
      }
      centre[c] = groupCentre;
      centred[c] = s;
      centred[channels + c] = q;
    }
    return m;
  }
}
