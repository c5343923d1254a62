package io.synctower.worker;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Gradient clipping by global norm, as PyTorch's {@code torch.nn.utils.clip_grad_norm_}: with
 * {@code n = ||g||_2} over all parameters, {@code g *= maxNorm / (n + 1e-6)} when that factor is
 * below 1. Applied to the all-reduced gradient (the whole global batch's), so the result does not
 * depend on the tower count. A frozen parameter's gradient is zero and adds nothing to the norm.
 */
final class GradientClipping {
  /** PyTorch's guard against dividing by a zero norm, kept so the factors agree. */
  static final double EPSILON = 1e-6;

  private GradientClipping() {}

  /**
   * Scales {@code gradients} in place when their norm exceeds {@code maxNorm}.
   *
   * @return the norm before clipping
   */
  static double clip(final INDArray gradients, final double maxNorm) {
    final double norm = gradients.norm2Number().doubleValue();
    final double factor = maxNorm / (norm + EPSILON);
    if (factor < 1) {
      gradients.muli(factor);
    }
    return norm;
  }
}
