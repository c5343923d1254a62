package io.synctower.common.nn;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.api.ops.OpContext;
import org.nd4j.linalg.factory.Nd4j;

/**
 * One libnd4j custom op with a context built once and reused every step (no per-step op
 * construction or argument parsing). Inputs and outputs are set by reference: nothing is copied,
 * outputs are written in place into the caller's preallocated arrays (views included).
 */
final class NativeOp {
  private final DynamicCustomOp op;
  private final OpContext context;

  NativeOp(final String name, final long[] integerArgs, final double... floatArgs) {
    this.op = DynamicCustomOp.builder(name).build();
    this.context = Nd4j.getExecutioner().buildContext();
    context.setIArguments(integerArgs);
    if (floatArgs.length > 0) {
      context.setTArguments(floatArgs);
    }
  }

  /** Runs the op on the given inputs, writing into the given outputs. */
  void exec(final INDArray[] inputs, final INDArray[] outputs) {
    for (int i = 0; i < inputs.length; i++) {
      context.setInputArray(i, inputs[i]);
    }
    for (int i = 0; i < outputs.length; i++) {
      context.setOutputArray(i, outputs[i]);
    }
    Nd4j.getExecutioner().exec(op, context);
  }
}
