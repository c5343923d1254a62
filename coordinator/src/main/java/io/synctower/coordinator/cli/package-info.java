/**
 * The {@code synctower} command line: one picocli command per subcommand ({@code train}, {@code
 * launch}, {@code coordinator}, {@code worker}, {@code driver}, {@code export}, {@code precise-bn},
 * {@code doctor}, {@code bench}, {@code scale}), their shared option groups, and {@link
 * io.synctower.coordinator.cli.SyncTowerCli}, the entry point.
 *
 * <pre>{@code
 * int code = SyncTowerCli.execute("train", "--config", "configs/quickstart.yaml");
 * // 0: done; 1: a failure (a lost tower, a transport error); 2: bad input, one "error: ..." line
 * // naming the field or file, the value and the fix
 * }</pre>
 *
 * <p>What lives here: parsing arguments into typed values, loading the configuration once, choosing
 * where the towers run, calling the training, the doctor or an experiment, and turning the
 * exceptions that mean bad input (configuration, data, weights, checkpoint, run directory) into
 * exit code 2 and one error line. What must not live here: the training loop, step numerics, the
 * round and stall policy, or wire formats; a command wires the packages that own those together and
 * prints what they return. Nothing below the CLI depends on it.
 */
package io.synctower.coordinator.cli;
