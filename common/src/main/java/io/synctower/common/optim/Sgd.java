package io.synctower.common.optim;

import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Stochastic gradient descent with optional heavy-ball or Nesterov momentum and L2 weight decay, in
 * the form of PyTorch's {@code torch.optim.SGD} with {@code dampening = 0}.
 *
 * <p>Per trainable element, with gradient {@code g}, learning rate {@code lr}, momentum {@code mu}
 * and weight decay {@code wd}:
 *
 * <pre>
 *   g  = g + wd * p                       (L2 penalty folded into the gradient)
 *   b  = mu * b + g                       (STANDARD and NESTEROV; b starts at 0)
 *   d  = b              (STANDARD)
 *   d  = g + mu * b     (NESTEROV)
 *   d  = g              (NONE)
 *   p  = p - lr * d
 * </pre>
 *
 * <p>Sources: Polyak, "Some methods of speeding up the convergence of iteration methods" (1964) for
 * momentum; Sutskever, Martens, Dahl &amp; Hinton, "On the importance of initialization and
 * momentum in deep learning" (ICML 2013) for the Nesterov form. The momentum buffer here
 * accumulates raw gradients and {@code lr} multiplies it at application time, as in PyTorch; the
 * Sutskever et al. form ({@code v = mu v - lr g}) differs when {@code lr} changes mid-run. Because
 * the buffer starts at zero, the first update equals PyTorch's {@code buf = g.clone()}.
 *
 * <p>State: {@code ["momentum"]} when momentum is on, none otherwise. Build with {@link
 * OptimizerSpec}; {@link #step} overwrites {@code grads} of the trainable ranges.
 */
public final class Sgd extends FlatOptimizer {
  private final OptimizerSpec.Momentum kind;
  private final double mu;
  private final double weightDecay;
  private final INDArray[] buf;

  Sgd(
      final INDArray params,
      final TrainableRanges ranges,
      final OptimizerSpec.Momentum kind,
      final double mu,
      final double weightDecay) {
    super(params, ranges, kind == OptimizerSpec.Momentum.NONE ? List.of() : List.of("momentum"));
    this.kind = kind;
    this.mu = mu;
    this.weightDecay = weightDecay;
    this.buf = kind == OptimizerSpec.Momentum.NONE ? null : stateViews(0);
  }

  @Override
  void update(
      final int range,
      final INDArray p,
      final INDArray g,
      final INDArray s,
      final double lr,
      final long t) {
    if (weightDecay != 0.0) {
      g.addi(s.assign(p).muli(weightDecay));
    }
    switch (kind) {
      case NONE -> p.subi(g.muli(lr));
      case STANDARD -> {
        final INDArray b = buf[range];
        b.muli(mu).addi(g);
        p.subi(s.assign(b).muli(lr));
      }
      case NESTEROV -> {
        final INDArray b = buf[range];
        b.muli(mu).addi(g);
        g.addi(s.assign(b).muli(mu));
        p.subi(g.muli(lr));
      }
      default -> throw new IllegalStateException("unknown momentum " + kind);
    }
  }
}
