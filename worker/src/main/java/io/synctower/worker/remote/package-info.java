/**
 * A worker process's control plane: how a tower in its own process is reached by the coordinator
 * over Aeron (IPC on one host, UDP between hosts).
 *
 * <p>What lives here: {@link io.synctower.worker.remote.AeronConnection} and {@link
 * io.synctower.worker.remote.MediaDrivers} (every SyncTower process opens its transport this one
 * way: an Aeron client and, unless told otherwise, an embedded media driver in a private
 * directory), {@link io.synctower.worker.remote.ControlChannels} (which stream carries whose
 * messages), {@link io.synctower.worker.remote.ControlSender} (numbers, authenticates and offers
 * control messages, with explicit back-pressure handling) and {@link
 * io.synctower.worker.remote.WorkerEndpoint} (one worker process's end of a run: join with the
 * run's secret, build the tower from the configuration the coordinator sends, relay commands and
 * reports, beat its heart).
 *
 * <p>What must not live here: the step's numerics (the tower, in {@code io.synctower.worker}), the
 * data plane between towers ({@code io.synctower.worker.transport}), the bytes of a message (the
 * codecs in {@code io.synctower.common.protocol}), and anything of the coordinator: this module
 * never depends on {@code io.synctower.coordinator} (the architecture test checks it).
 */
package io.synctower.worker.remote;
