/**
 * Collectives between towers: the contract, and its implementation for towers that are threads of
 * one JVM.
 *
 * <p>What lives here: {@link io.synctower.common.comm.Collective} (sum all-reduce, broadcast,
 * barrier over one group, in a fixed reduction order so every member and every run gets the same
 * bits), {@link io.synctower.common.comm.Chunks} (how a buffer is cut into per-member chunks,
 * shared with the networked implementation so the two agree bit for bit), {@link
 * io.synctower.common.comm.InProcessGroup} (the shared-memory implementation) and {@link
 * io.synctower.common.comm.CollectiveAbortedException} (what every waiting member gets when the
 * group is aborted, instead of hanging).
 *
 * <p>The caller's loop is {@link io.synctower.common.comm.Collective}'s class comment: one call per
 * step on each tower's own thread, buffers owned by the caller and overwritten in place.
 *
 * <p>What must not live here: model, layer or BN code (a collective sums flat buffers and knows
 * nothing of what they hold), messages of the control protocol, and any network transport: the
 * Aeron implementation lives in the worker module ({@code io.synctower.worker.transport}).
 */
package io.synctower.common.comm;
