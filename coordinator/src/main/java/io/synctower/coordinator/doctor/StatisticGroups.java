package io.synctower.coordinator.doctor;

import io.synctower.common.config.RunConfig;
import io.synctower.common.data.Shards;
import io.synctower.common.nn.BnTraining;
import io.synctower.common.nn.StatsReducer;
import io.synctower.common.nn.StepContext;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * How a run forms the batches its BN layers normalize with in training mode: the global batch is
 * split into contiguous tower shards ({@link Shards}), and a statistic group is a shard (local BN),
 * a ghost batch inside a shard (ghost BN), or the union of a sync group's shards (SyncBN).
 *
 * <p>The doctor reproduces those statistics in one process by forwarding each {@link #forwards()
 * slice} of a global batch on its own: a shard with the run's local or ghost context, or a sync
 * group's samples (contiguous, since groups are consecutive ranks) in one local forward, which is
 * exactly what SyncBN's all-reduce computes.
 */
public final class StatisticGroups {
  /** The samples {@code [offset, offset + size)} of a global batch, forwarded together. */
  public record Slice(int offset, int size) {}

  private final int batch;
  private final int towers;
  private final BnTraining mode;
  private final int ghostBatch;
  private final int syncGroupSize;
  private final List<Slice> forwards;

  private StatisticGroups(
      final int batch,
      final int towers,
      final BnTraining mode,
      final int ghostBatch,
      final int syncGroupSize) {
    this.batch = batch;
    this.towers = towers;
    this.mode = mode;
    this.ghostBatch = ghostBatch;
    this.syncGroupSize = syncGroupSize;
    final int perForward = mode == BnTraining.SYNC ? syncGroupSize : 1;
    final List<Slice> slices = new ArrayList<>();
    for (int first = 0; first < towers; first += perForward) {
      final int offset = Shards.offset(batch, towers, first);
      int size = 0;
      for (int r = first; r < first + perForward; r++) {
        size += Shards.size(batch, towers, r);
      }
      if (size > 0) {
        slices.add(new Slice(offset, size));
      }
    }
    this.forwards = List.copyOf(slices);
  }

  /** The groups of {@code config}'s run. */
  public static StatisticGroups of(final RunConfig config) {
    final RunConfig.Bn bn = config.bn();
    final int group = bn.syncGroupSize() > 0 ? bn.syncGroupSize() : config.towers();
    return new StatisticGroups(
        config.training().batchSize(), config.towers(), bn.training(), bn.ghostBatch(), group);
  }

  /** SyncBN over groups of {@code groupSize} towers (a what-if for a run with other settings). */
  public static StatisticGroups sync(final int batch, final int towers, final int groupSize) {
    return new StatisticGroups(batch, towers, BnTraining.SYNC, 0, groupSize);
  }

  /** The slices of one global batch that are forwarded separately, in batch order; none empty. */
  public List<Slice> forwards() {
    return forwards;
  }

  /** A training-mode context for a forward of {@code samples} samples (no collectives). */
  public StepContext context(final int samples) {
    final BnTraining forwardMode = mode == BnTraining.GHOST ? BnTraining.GHOST : BnTraining.LOCAL;
    return new StepContext(true, forwardMode, ghostBatch, StatsReducer.LOCAL, 0, 0, 0, samples);
  }

  /** The fewest samples any statistic group of a global batch has (empty shards aside). */
  public int smallest() {
    int min = Integer.MAX_VALUE;
    for (final int size : groupSizes()) {
      min = Math.min(min, size);
    }
    return min;
  }

  /** The most samples any statistic group of a global batch has. */
  public int largest() {
    int max = 0;
    for (final int size : groupSizes()) {
      max = Math.max(max, size);
    }
    return max;
  }

  private List<Integer> groupSizes() {
    final List<Integer> sizes = new ArrayList<>();
    for (final Slice s : forwards) {
      if (mode != BnTraining.GHOST) {
        sizes.add(s.size());
      } else {
        for (int from = 0; from < s.size(); from += ghostBatch) {
          sizes.add(Math.min(ghostBatch, s.size() - from));
        }
      }
    }
    return sizes;
  }

  public BnTraining mode() {
    return mode;
  }

  public int towers() {
    return towers;
  }

  public int batch() {
    return batch;
  }

  public int syncGroupSize() {
    return syncGroupSize;
  }

  /** E.g. "local BN on 4 towers: each tower's shard of 2 samples". */
  public String describe() {
    final String samples = samples(smallest(), largest());
    return switch (mode) {
      case LOCAL ->
          towers == 1
              ? "local BN, 1 tower: the batch of " + samples
              : String.format(
                  Locale.ROOT, "local BN on %d towers: each tower's shard of %s", towers, samples);
      case GHOST ->
          String.format(
              Locale.ROOT,
              "ghost BN (ghostBatch %d) on %d tower(s): ghost batches of %s",
              ghostBatch,
              towers,
              samples);
      case SYNC ->
          syncGroupSize == towers
              ? String.format(
                  Locale.ROOT, "SyncBN over all %d towers: the global batch of %s", towers, samples)
              : String.format(
                  Locale.ROOT,
                  "SyncBN in groups of %d of %d towers: each group's %s",
                  syncGroupSize,
                  towers,
                  samples);
    };
  }

  private static String samples(final int min, final int max) {
    return (min == max ? Integer.toString(min) : min + "-" + max) + " samples";
  }
}
