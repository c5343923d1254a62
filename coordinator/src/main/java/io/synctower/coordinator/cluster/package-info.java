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
 * <p>What must not live here: sockets, Aeron, or anything that reads the environment by itself.
 * Resolution is a pure function of its arguments, so every convention is tested with a plain map.
 * Examples of the launchers themselves are in {@code configs/slurm} and {@code configs/k8s}.
 */
package io.synctower.coordinator.cluster;
