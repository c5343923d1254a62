/**
 * A tower: one model replica bound to one device and the training step it executes (the step
 * contract of docs/design.md for one tower: forward, backward, one all-reduce of gradients and BN
 * union statistics, update ops, optimizer), its runtime loop over commands, and what a tower does
 * between steps (checkpoints, precise BN, replica hashes). The numerics come from {@code
 * io.synctower.common}; the Aeron collective is in {@code transport}, a worker process's control
 * plane in {@code remote}, building a tower from the typed config (the same for a worker process
 * and a tower thread) in {@code assembly}.
 *
 * <p>What must not live here: anything of the coordinator (step planning, round and stall policy,
 * run directories, the CLI). The worker module does not depend on {@code io.synctower.coordinator}
 * (the architecture test checks it); a tower is driven only by protocol messages.
 */
package io.synctower.worker;
