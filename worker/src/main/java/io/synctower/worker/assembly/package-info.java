/**
 * Assembling a tower from a run's typed configuration: the datasets ({@link
 * io.synctower.worker.assembly.TrainingData}), the replica ({@link
 * io.synctower.worker.assembly.Replicas}), the collective groups ({@link
 * io.synctower.worker.assembly.SyncGroups}) and the runtime loop ({@link
 * io.synctower.worker.assembly.TowerAssembly}). A worker process and the coordinator's in-process
 * towers both build their towers here, so they differ only in how a {@link
 * io.synctower.worker.assembly.GroupOpener} opens the groups. Knows nothing of the coordinator or
 * of a transport.
 */
package io.synctower.worker.assembly;
