package io.synctower.common.optim;

import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * RMSProp as in PyTorch's {@code torch.optim.RMSprop} (not centered), with optional heavy-ball
 * momentum and L2 weight decay.
 *
 * <pre>
 *   g = g + wd * p
 *   v = alpha * v + (1 - alpha) * g^2
 *   d = g / (sqrt(v) + eps)
 *   b = mu * b + d ;  p = p - lr * b     (STANDARD momentum)
 *   p = p - lr * d                       (NONE)
 * </pre>
 *
 * <p>Source: Tieleman &amp; Hinton, COURSERA "Neural Networks for Machine Learning", Lecture 6.5
 * (2012). Note that {@code eps} sits outside the square root as in PyTorch; Keras/TF add it inside
 * ({@code sqrt(v + eps)}), and TF's default {@code alpha} (their {@code rho}) is 0.9, not 0.99.
 *
 * <p>State: {@code ["v"]}, plus {@code "momentum"} when momentum is on. Build with {@link
 * OptimizerSpec}; {@link #step} overwrites {@code grads} of the trainable ranges.
 */
public final class RmsProp extends FlatOptimizer {
  private final double alpha;
  private final double eps;
  private final double mu;
  private final double weightDecay;
  private final INDArray[] v;
  private final INDArray[] buf;

  RmsProp(
      final INDArray params,
      final TrainableRanges ranges,
      final double alpha,
      final double eps,
      final double mu,
      final double weightDecay) {
    super(params, ranges, mu == 0.0 ? List.of("v") : List.of("v", "momentum"));
    this.alpha = alpha;
    this.eps = eps;
    this.mu = mu;
    this.weightDecay = weightDecay;
    this.v = stateViews(0);
    this.buf = mu == 0.0 ? null : stateViews(1);
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
    v[range].muli(alpha).addi(s.assign(g).muli(g).muli(1.0 - alpha));
    Transforms.sqrt(s.assign(v[range]), false).addi(eps);
    g.divi(s);
    if (buf == null) {
      p.subi(g.muli(lr));
    } else {
      buf[range].muli(mu).addi(g);
      p.subi(s.assign(buf[range]).muli(lr));
    }
  }
}
