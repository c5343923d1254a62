/**
 * Starting the worker processes of a run on this host ({@code synctower launch}): the child JVMs'
 * command lines ({@link io.synctower.coordinator.launch.ChildJvm}), their arguments ({@link
 * io.synctower.coordinator.launch.LocalWorkers}), the processes themselves with their output
 * prefixed by rank ({@link io.synctower.coordinator.launch.WorkerProcesses}), and the temporary
 * files a launch owns, the run secret and the media driver's directory ({@link
 * io.synctower.coordinator.launch.LaunchFiles}), which nothing of may outlive the run.
 *
 * <p>What must not live here: the coordinator's side of the protocol (joining, heartbeats, rounds)
 * and anything a worker process does once started. This package starts and stops processes and
 * cleans up after them; every process it starts leaves when the run ends, however it ends.
 */
package io.synctower.coordinator.launch;
