/**
 * The data plane between towers in different processes or hosts: {@link
 * io.synctower.worker.transport.AeronCollective}, the {@link io.synctower.common.comm.Collective}
 * over Aeron IPC or UDP; {@link io.synctower.worker.transport.DataChannels}, which streams,
 * sessions and channel parameters a group uses; and {@link
 * io.synctower.worker.transport.AllReduceBenchmark} for the bench command.
 *
 * <p>What lives here: framing ({@code ReduceFrame} headers), flow control, waiting, and the
 * fixed-order sum the {@code Collective} contract defines. What must not: model or BN code (it sees
 * only {@code Collective}), the control channel (join, step plan, heartbeats), and the media driver
 * and Aeron client themselves, which the process that embeds a tower creates, configures and
 * closes.
 */
package io.synctower.worker.transport;
