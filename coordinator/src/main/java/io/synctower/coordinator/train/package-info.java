/**
 * Training a run: planning and running steps and epochs over a {@link
 * io.synctower.coordinator.towers.Towers}, and what a run keeps between them.
 *
 * <p>What lives here: the trainer (one command per step to every tower, the reports folded into
 * step and epoch metrics), the checkpoint policy and exact resume, the run directory (config,
 * metrics CSV, step log, checkpoints, the lock that makes a run own its directory), preflight
 * checks that fail before any tower starts, the model-memory estimate, the training data of a run,
 * and the precise-BN pass over the towers.
 *
 * <p>The caller's code is the {@code train} command's: load the config once, build the towers,
 * train, then (in the command, not here) run the doctor on the result.
 *
 * <p>What must not live here: step numerics (the worker's tower), transport and the round policy
 * ({@code coordinator.towers}, {@code coordinator.cluster}), command-line parsing ({@code
 * coordinator.cli}) and the doctor: this package must not depend on {@code coordinator.doctor},
 * which reads training's results (the architecture test fails on a cycle between them).
 */
package io.synctower.coordinator.train;
