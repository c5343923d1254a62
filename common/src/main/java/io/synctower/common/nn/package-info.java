/**
 * The layer API and the model: what one replica computes, forward and backward, on one thread.
 *
 * <p>What lives here: {@link io.synctower.common.nn.Layer} and the layers without statistics
 * (convolution, dense, ReLU, max, average and global average pooling, dropout, flatten, reshape)
 * and their border rule ({@link io.synctower.common.nn.Padding}); {@link
 * io.synctower.common.nn.Model}, which lays every layer's tensors out in flat parameter, gradient
 * and state buffers and runs the layers in order; {@link io.synctower.common.nn.StepContext}, what
 * a layer knows about the step it runs in, including how BN forms its statistic batches ({@link
 * io.synctower.common.nn.BnTraining}) and the sync group's {@link
 * io.synctower.common.nn.StatsReducer}; the loss ({@link
 * io.synctower.common.nn.SoftmaxCrossEntropy}); the specs a configuration gives for each layer
 * ({@link io.synctower.common.nn.LayerSpec}); and the tools around a step (non-finite detection,
 * per-layer timing, which native engine runs each op).
 *
 * <p>The caller's loop is {@link io.synctower.common.nn.Model}'s class comment: forward, loss,
 * backward, one all-reduce of the gradients and the BN union statistics, then the update ops and
 * the optimizer.
 *
 * <p>What must not live here: batch norm itself ({@code common.bn} builds on this package; the
 * model drives BN's update ops only through {@link io.synctower.common.nn.UnionStatisticsLayer}),
 * building a model from a configuration ({@code common.config}), threads, collectives and
 * transport. A layer sees other towers only through the {@code StatsReducer} in its context. The
 * architecture test (coordinator module, {@code ArchitectureTest}) fails on an import of {@code
 * common.bn} here.
 */
package io.synctower.common.nn;
