package io.synctower.common.nn;

import java.util.ArrayList;
import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Fully connected layer {@code y = x W^T + b} with W in PyTorch layout {@code [out, in]}, so
 * imported weights need no transpose. Three GEMMs per step, all into preallocated outputs.
 */
public final class Dense implements Layer {
  private final String name;
  private final Shape in;
  private final Shape out;
  private final boolean bias;
  private final boolean trainable;
  private final ParamSpec.Init init;
  private final DataType dtype;
  private final PerBatchSize<Buffers> buffers;
  private INDArray weight;
  private INDArray biasValues;
  private INDArray weightGrad;
  private INDArray biasGrad;

  public Dense(
      final String name,
      final Shape in,
      final int units,
      final boolean bias,
      final boolean trainable,
      final ParamSpec.Init init,
      final DataType dtype) {
    if (in.rank() != 1) {
      throw new ShapeException(
          name, "dense needs a flat input, got " + in + "; put a flatten layer before it");
    }
    this.name = name;
    this.in = in;
    this.out = Shape.flat(units);
    this.bias = bias;
    this.trainable = trainable;
    this.init = init;
    this.dtype = dtype;
    this.buffers = new PerBatchSize<>(Buffers::new);
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public Shape inputShape() {
    return in;
  }

  @Override
  public Shape outputShape() {
    return out;
  }

  @Override
  public List<ParamSpec> tensors() {
    final List<ParamSpec> specs = new ArrayList<>();
    specs.add(
        new ParamSpec(
            "weight",
            new long[] {out.last(), in.last()},
            ParamSpec.Kind.PARAMETER,
            trainable,
            init));
    if (bias) {
      specs.add(
          new ParamSpec(
              "bias",
              new long[] {out.last()},
              ParamSpec.Kind.PARAMETER,
              trainable,
              ParamSpec.Init.ZEROS));
    }
    return specs;
  }

  @Override
  public long[] fans(final ParamSpec spec) {
    return new long[] {in.last(), out.last()};
  }

  @Override
  public void bind(final List<INDArray> values, final List<INDArray> gradients) {
    weight = values.get(0);
    weightGrad = gradients.get(0);
    if (bias) {
      biasValues = values.get(1);
      biasGrad = gradients.get(1);
    }
  }

  @Override
  public INDArray forward(final INDArray x, final StepContext ctx) {
    final Buffers b = buffers.get((int) x.size(0));
    b.input = x;
    Nd4j.gemm(x, weight, b.y, false, true, 1.0, 0.0);
    if (bias) {
      b.y.addiRowVector(biasValues);
    }
    return b.y;
  }

  /** Only reads dy: the GEMMs and the bias column sum take it as an input. */
  @Override
  public boolean mayOverwriteGradient() {
    return false;
  }

  @Override
  public INDArray backward(final INDArray dy, final StepContext ctx) {
    final Buffers b = buffers.get((int) dy.size(0));
    Nd4j.gemm(dy, b.input, weightGrad, true, false, 1.0, 0.0);
    if (bias) {
      dy.sum(biasGrad, 0);
    }
    Nd4j.gemm(dy, weight, b.dx, false, false, 1.0, 0.0);
    return b.dx;
  }

  private final class Buffers {
    final INDArray y;
    final INDArray dx;
    INDArray input;

    Buffers(final int n) {
      y = Nd4j.create(dtype, out.withBatch(n));
      dx = Nd4j.create(dtype, in.withBatch(n));
    }
  }
}
