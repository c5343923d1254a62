/**
 * Where a worker process sits in a multi-host job, read from its flags and from the conventions
 * that launchers already set: torchrun-style variables, Slurm, a Kubernetes indexed Job.
 *
 * <p>What lives here: {@link io.synctower.coordinator.cluster.ClusterEnvironment} (rank, world
 * size, local rank, device, coordinator address, and where each came from) and {@link
 * io.synctower.coordinator.cluster.HostList} (Slurm hostlist expressions such as {@code
 * node[01-04,07]}). The caller, the {@code worker} command, resolves once at start:
 *
 * <pre>{@code
 * ClusterEnvironment where =
 *     ClusterEnvironment.resolve(rankFlag, worldSizeFlag, coordinatorFlag, deviceFlag,
 *         System.getenv());
 * int port = portFlag != null ? portFlag : 40200 + where.localRank();
 * }</pre>
 *
 * <p>Beside it, the coordinator's end of towers in other processes: {@link
 * io.synctower.coordinator.cluster.RemoteTowers}, the {@code Towers} that admits workers (the join
 * handshake), watches their heartbeats, and sends commands and collects reports over Aeron. That is
 * the only part that uses Aeron. What must not live here: anything that reads the environment by
 * itself (resolution is a pure function of its arguments, so every convention is tested with a
 * plain map), the step's numerics, or the data plane between towers (the worker module's). Examples
 * of the launchers themselves are in {@code configs/slurm} and {@code configs/k8s}.
 */
package io.synctower.coordinator.cluster;
