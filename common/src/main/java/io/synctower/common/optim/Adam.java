package io.synctower.common.optim;

import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * Adam and AdamW, bias-corrected, with {@code eps} outside the square root as in PyTorch's {@code
 * torch.optim.Adam} / {@code torch.optim.AdamW}.
 *
 * <p>Per trainable element at update {@code t = 1, 2, ...}, in the papers' symbols:
 *
 * <pre>
 *   p   = p * (1 - lr * wd)                    (DECOUPLED only: AdamW's weight decay)
 *   g   = g + wd * p                           (L2 only: Adam's weight decay)
 *   m   = beta1 * m + (1 - beta1) * g
 *   v   = beta2 * v + (1 - beta2) * g^2
 *   m^  = m / (1 - beta1^t)
 *   v^  = v / (1 - beta2^t)
 *   p   = p - lr * m^ / (sqrt(v^) + eps)
 * </pre>
 *
 * <p>Sources: Kingma &amp; Ba, "Adam: A Method for Stochastic Optimization" (ICLR 2015), Algorithm
 * 1; Loshchilov &amp; Hutter, "Decoupled Weight Decay Regularization" (ICLR 2019), Algorithm 2
 * (AdamW). As in PyTorch, the decoupled decay is scaled by the scheduled {@code lr} (the paper's
 * {@code eta_t * lambda} with {@code eta_t} folded into {@code lr}). Algorithm 1 puts {@code eps}
 * on the bias-corrected {@code sqrt(v^)}, as PyTorch does and as here; the paper's Section 2
 * reordering, used by some libraries, adds it to the uncorrected {@code sqrt(v)} instead, which
 * differs early in training while {@code 1 - beta2^t} is small.
 *
 * <p>State: {@code ["m", "v"]} plus the update counter for the bias correction. Build with {@link
 * OptimizerSpec}; {@link #step} overwrites {@code grads} of the trainable ranges.
 */
public final class Adam extends FlatOptimizer {
  /** How weight decay enters the update. */
  public enum WeightDecay {
    /** Adam: L2 penalty added to the gradient, so it is rescaled by the adaptive denominator. */
    L2,
    /**
     * AdamW: parameters shrink by {@code lr * wd} before the Adam step (Loshchilov &amp; Hutter).
     */
    DECOUPLED
  }

  private final WeightDecay decayKind;
  private final double beta1;
  private final double beta2;
  private final double eps;
  private final double weightDecay;
  private final INDArray[] m;
  private final INDArray[] v;

  Adam(
      final INDArray params,
      final TrainableRanges ranges,
      final WeightDecay decayKind,
      final double beta1,
      final double beta2,
      final double eps,
      final double weightDecay) {
    super(params, ranges, List.of("m", "v"));
    this.decayKind = decayKind;
    this.beta1 = beta1;
    this.beta2 = beta2;
    this.eps = eps;
    this.weightDecay = weightDecay;
    this.m = stateViews(0);
    this.v = stateViews(1);
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
      if (decayKind == WeightDecay.DECOUPLED) {
        p.muli(1.0 - lr * weightDecay);
      } else {
        g.addi(s.assign(p).muli(weightDecay));
      }
    }
    final double bc1 = 1.0 - Math.pow(beta1, t);
    final double bc2 = 1.0 - Math.pow(beta2, t);
    m[range].muli(beta1).addi(s.assign(g).muli(1.0 - beta1));
    v[range].muli(beta2).addi(s.assign(g).muli(g).muli(1.0 - beta2));
    // s = sqrt(v^) + eps = sqrt(v) / sqrt(bc2) + eps ; g = m^ / s ; p -= lr * g
    Transforms.sqrt(s.assign(v[range]), false).divi(Math.sqrt(bc2)).addi(eps);
    g.assign(m[range]).divi(bc1).divi(s);
    p.subi(g.muli(lr));
  }
}
