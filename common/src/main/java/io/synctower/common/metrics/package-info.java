/**
 * Value types for what a training step measures, shared by the towers that measure it, the wire
 * that carries it and the coordinator that adds it up: {@link
 * io.synctower.common.metrics.MetricSums} (loss and correct counts, as sums) and {@link
 * io.synctower.common.metrics.PhaseTimes} (where a step's time went). Both add with {@code plus}.
 *
 * <p>What must not live here: no tensors, no transport, no formatting; plain immutable values that
 * every other package may use and that use nothing of the project.
 */
package io.synctower.common.metrics;
