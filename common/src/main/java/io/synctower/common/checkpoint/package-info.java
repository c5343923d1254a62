/**
 * Getting a model's tensors in and out of files: weight files now, atomic training checkpoints
 * later.
 *
 * <p>What lives here: {@link io.synctower.common.checkpoint.WeightsFile}, which saves a {@link
 * io.synctower.common.nn.Model}'s parameters and BN state to a NumPy {@code .npz} archive and loads
 * one back, in one of the {@link io.synctower.common.checkpoint.WeightLayout}s (PyTorch {@code
 * state_dict} naming and layout, or Keras naming and layout), with the options ({@link
 * io.synctower.common.checkpoint.ImportOptions}) and results ({@link
 * io.synctower.common.checkpoint.ImportReport}, {@link
 * io.synctower.common.checkpoint.WeightsMismatchException}) of an import.
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
 * <p>What must not live here: no threads, no sockets, no transport or collective code. Files are
 * written and read on the caller's thread, between steps, never while a step runs. Values move
 * between files and the model's flat buffers through the tensor views, on the host, element by
 * element in Java: no native op touches them, so a round trip is bit-exact and identical on every
 * machine.
 */
package io.synctower.common.checkpoint;
