/**
 * Update rules and learning-rate schedules over one flat parameter buffer.
 *
 * <p>What lives here: {@link io.synctower.common.optim.Optimizer} implementations ({@link
 * io.synctower.common.optim.Sgd}, {@link io.synctower.common.optim.Adam} (also AdamW), {@link
 * io.synctower.common.optim.RmsProp}, {@link io.synctower.common.optim.Adadelta}), their validated
 * configuration {@link io.synctower.common.optim.OptimizerSpec}, the pure step-to-rate functions
 * behind {@link io.synctower.common.optim.LearningRateSchedule} and their configuration {@link
 * io.synctower.common.optim.ScheduleSpec}, and {@link io.synctower.common.optim.TrainableRanges}
 * that says which parts of the buffer an optimizer may touch.
 *
 * <p>The caller's loop, on every tower after the gradient all-reduce:
 *
 * <pre>{@code
 * OptimizerSpec spec = OptimizerSpec.builder(OptimizerSpec.Type.ADAMW).lr(3e-4).build();
 * Optimizer opt = spec.create(params, ranges);           // allocates its state once
 * LearningRateSchedule lrs = ScheduleSpec.builder(ScheduleSpec.Type.COSINE)
 *     .warmupSteps(500).build().create(spec.lr(), totalSteps);
 * for (long step = opt.state().updates(); step < totalSteps; step++) {
 *   ... forward, backward, all-reduce grads ...
 *   opt.step(params, grads, lrs.learningRate(step));
 * }
 * }</pre>
 *
 * <p>What must not live here: transport, collectives, layers or batch-norm code. Optimizers see
 * only flat {@code INDArray} buffers that are already reduced; every tower applies the same
 * deterministic update, so replicas stay bit-identical without exchanging parameters.
 *
 * <p>Numerics follow PyTorch's {@code torch.optim} (SGD, Adam, AdamW, RMSprop) and Keras/TF for
 * Adadelta; each class cites its paper and states where it departs from it.
 */
package io.synctower.common.optim;
