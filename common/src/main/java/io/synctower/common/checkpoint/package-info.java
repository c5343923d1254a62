/**
 * Getting a model's tensors in and out of files: weight files, and a run's atomic checkpoints.
 *
 * <p>What lives here: {@link io.synctower.common.checkpoint.WeightsFile}, which saves a {@link
 * io.synctower.common.nn.Model}'s parameters and BN state to a NumPy {@code .npz} archive and loads
 * one back, in one of the {@link io.synctower.common.checkpoint.WeightLayout}s (PyTorch {@code
 * state_dict} naming and layout, or Keras naming and layout), with the options ({@link
 * io.synctower.common.checkpoint.ImportOptions}) and results ({@link
 * io.synctower.common.checkpoint.ImportReport}, {@link
 * io.synctower.common.checkpoint.WeightsMismatchException}) of an import. Layer names are PyTorch
 * module paths ({@code layer1.0.conv1}; see {@link io.synctower.common.nn.LayerNames}), so
 * torchvision's {@code state_dict} keys load and export under their own names, and {@code
 * ImportOptions} selects layers by name prefix.
 *
 * <p>The caller's code, once at start-up or at the end of training:
 *
 * <pre>{@code
 * model.initialize(seed);
 * ImportReport r = WeightsFile.load(model, Path.of("resnet.npz"), WeightLayout.PYTORCH,
 *     new ImportOptions(false, Set.of()));         // pretrained backbone, new head
 * log.info("loaded {}, kept init {}", r.loaded(), r.missing());
 * ... train ...
 * WeightsFile.save(model, Path.of("final.npz"), WeightLayout.PYTORCH);
 * }</pre>
 *
 * <p>And {@link io.synctower.common.checkpoint.CheckpointStore}, which keeps a run's full state
 * every N steps under {@code RUN_DIR/checkpoints} (its class doc shows the resume-and-train loop):
 *
 * <pre>
 * RUN_DIR/checkpoints/
 *   latest                 "step-00000120\n": the current checkpoint, replaced by atomic rename
 *   step-00000110/         an older one, kept for fallback (keep = 2)
 *   step-00000120/         the caller's files, then manifest (sizes, CRC32C, its own CRC32C)
 *   .tmp-step-00000130-*   a commit in progress, or left by a crash: never loaded, removed next
 * </pre>
 *
 * <p>Guarantees: a checkpoint directory appears under its final name only complete and forced to
 * disk; {@code latest} moves to it only then, and older checkpoints are pruned only after that, so
 * a process killed at any instant leaves {@code latest} naming a complete checkpoint (the kill test
 * checks this). Every load re-reads every byte against the manifest; CRC32C detects accidental
 * damage, not tampering. Callers hand the store files (names and writers of bytes), never tensors.
 *
 * <p>What must not live here: no threads, no sockets, no transport or collective code. Files are
 * written and read on the caller's thread, between steps, never while a step runs. Values move
 * between files and the model's flat buffers through the tensor views, on the host, element by
 * element in Java: no native op touches them, so a round trip is bit-exact and identical on every
 * machine. The checkpoint store's classes must not touch ND4J, so that a plain JVM (the kill test's
 * child) can run them without loading native libraries.
 */
package io.synctower.common.checkpoint;
