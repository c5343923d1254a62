/**
 * The coordinator's handle on its towers, wherever they run: {@link
 * io.synctower.coordinator.towers.Towers} (send a command to every tower, collect one report from
 * each, by rank), towers as threads of this JVM ({@link
 * io.synctower.coordinator.towers.InProcessTowers}, each on its share of the cores), and the policy
 * of a round: when a step has stalled, which towers were silent, and whether the replicas still
 * hash the same. Remote towers implement the same interface in {@code coordinator.cluster}, so the
 * training loop cannot tell the two apart.
 *
 * <pre>{@code
 * towers.send(new Command.TrainStep(...));   // the coordinator's training thread
 * List<Report> round = towers.collect();     // one report per tower; throws TowerFailedException
 * }</pre>
 *
 * <p>What must not live here: what a step computes (the worker module's tower), how a tower is
 * assembled from the configuration (below the coordinator, shared with worker processes), training
 * plans and run directories ({@code coordinator.train}), and Aeron.
 */
package io.synctower.coordinator.towers;
