package io.synctower.common.nn;

/**
 * How a BN layer in training mode forms the batch whose statistics it normalizes with. Frozen
 * layers ({@code trainable: false}) and inference ignore this and use the moving statistics.
 *
 * <ul>
 *   <li>{@link #LOCAL}: the tower's own shard (Ioffe &amp; Szegedy 2015). With N towers this is
 *       ghost BN with virtual batches equal to the shards.
 *   <li>{@link #SYNC}: the union of the sync group's shards, via {@link StatsReducer}; N towers
 *       then compute exactly what one tower with the whole batch computes.
 *   <li>{@link #GHOST}: consecutive virtual batches of {@code ghostBatch} samples inside the shard
 *       (Hoffer, Hubara &amp; Soudry 2017, "Train longer, generalize better").
 * </ul>
 *
 * <p>In every variant the moving statistics are updated from the union of all towers' shards.
 */
public enum BnTraining {
  LOCAL,
  SYNC,
  GHOST
}
