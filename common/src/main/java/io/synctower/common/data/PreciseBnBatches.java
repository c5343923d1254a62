package io.synctower.common.data;

/**
 * Which global batches precise BN forwards: {@code K} batches of the run's global batch size taken
 * in order from passes over the training set, each pass a seeded permutation of its own. Every
 * tower computes the same passes and takes its shard of each batch, exactly as in a training epoch:
 *
 * <pre>{@code
 * PreciseBnBatches batches = new PreciseBnBatches(seed, round, dataset.size(), globalBatch);
 * for (int pass = 0; pass < batches.passes(k); pass++) {
 *   BatchPlan plan = BatchPlan.shard(batches.order(pass), globalBatch, offset, shardSize, true);
 *   for (int b = 0; b < batches.batchesIn(pass, k); b++) { ... plan.from(b), plan.count(b) ... }
 * }
 * }</pre>
 *
 * <p>A pass holds {@code size / globalBatch} batches (a partial last batch is dropped, as in
 * training, so every forward has the batch statistics of a full global batch); {@code K} larger
 * than one pass wraps into the next pass, which visits the set in another order. The orders come
 * from {@link EpochPermutation} with a seed derived from the run seed, a salt and {@code round}, so
 * they differ from every training epoch's order and from other rounds' (the trainer passes the
 * epoch that ends; the {@code precise-bn} command 0). With {@code data.augment} the batches are
 * augmented as in training (as PyTorch's precise-BN implementations forward the training loader),
 * with draws of their own ({@link #augmentation}). Immutable.
 */
public final class PreciseBnBatches {
  /** Keeps recalibration orders apart from the training epochs' orders of the same seed. */
  private static final long SALT = 0x5052_4543_4953_4542L; // "PRECISEB"

  private final long passSeed;
  private final int size;
  private final int batchesPerPass;

  /**
   * @throws IllegalArgumentException if the dataset holds no full global batch
   */
  public PreciseBnBatches(
      final long seed, final long round, final int size, final int globalBatch) {
    if (globalBatch <= 0 || size < globalBatch) {
      throw new IllegalArgumentException(
          "precise BN needs at least one full global batch: "
              + size
              + " training samples, batch size "
              + globalBatch);
    }
    this.passSeed = EpochPermutation.mix64((seed ^ SALT) * 0x9E3779B97F4A7C15L + round);
    this.size = size;
    this.batchesPerPass = size / globalBatch;
  }

  /** Full global batches in one pass over the training set. */
  public int batchesPerPass() {
    return batchesPerPass;
  }

  /** Passes that {@code batches} global batches take (the last one possibly partial). */
  public int passes(final int batches) {
    checkBatches(batches);
    return (batches + batchesPerPass - 1) / batchesPerPass;
  }

  /** Batches taken from pass {@code pass} when {@code batches} are forwarded in all. */
  public int batchesIn(final int pass, final int batches) {
    checkBatches(batches);
    return Math.max(0, Math.min(batchesPerPass, batches - pass * batchesPerPass));
  }

  /** The sample order of pass {@code pass}: a new array, owned by the caller. */
  public int[] order(final int pass) {
    return EpochPermutation.of(passSeed, pass, size);
  }

  /**
   * The augmentation draws of pass {@code pass}: a stream of its own, apart from every training
   * epoch's, like the pass's order.
   */
  public AugmentedEpoch augmentation(final Augmentation augmentation, final int pass) {
    return augmentation.epoch(passSeed, pass);
  }

  private static void checkBatches(final int batches) {
    if (batches <= 0) {
      throw new IllegalArgumentException("precise BN needs batches > 0, got " + batches);
    }
  }
}
