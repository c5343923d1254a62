/**
 * Batch normalization: the layer, its training variants, and precise BN.
 *
 * <p>What lives here: {@link io.synctower.common.bn.BatchNorm} (local, SyncBN and ghost BN in
 * training, frozen and inference; moving statistics updated inside the step from the union of all
 * towers' shards), the per-channel sums it is built from ({@code ChannelSums}, {@code
 * FusedAffine}), {@link io.synctower.common.bn.PreciseBn} (population statistics under the final
 * weights), {@link io.synctower.common.bn.StatisticsGap} (how far two sets of statistics are apart,
 * for the doctor) and {@link io.synctower.common.bn.TimedStatsReducer} (the time a step spends in
 * SyncBN's reductions).
 *
 * <p>The caller's loop: the {@link io.synctower.common.nn.Model} runs BN like any layer, and after
 * the step's all-reduce calls {@code applyMovingStatistics()} on every tower with the same reduced
 * partials, so replicas stay bit-identical. SyncBN reduces its partials inside forward and backward
 * through the context's {@link io.synctower.common.nn.StatsReducer}.
 *
 * <p>What must not live here: transport of any kind. BN sees other towers only through a {@code
 * StatsReducer} and, for precise BN, the {@link io.synctower.common.comm.Collective} interface;
 * never a collective's implementation, a protocol message, Aeron or a socket (the architecture test
 * checks this). This package depends on {@code common.nn} (a BN layer is a layer), never the
 * reverse.
 */
package io.synctower.common.bn;
