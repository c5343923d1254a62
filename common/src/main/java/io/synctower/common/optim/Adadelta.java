package io.synctower.common.optim;

import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * Adadelta with a learning rate, in the form of Keras 2 / TensorFlow's {@code ApplyAdadelta}
 * kernel, plus optional L2 weight decay (as PyTorch's {@code torch.optim.Adadelta}).
 *
 * <pre>
 *   g   = g + wd * p
 *   a   = rho * a + (1 - rho) * g^2                 (E[g^2], "accum_grad")
 *   u   = g * sqrt(d + eps) / sqrt(a + eps)         (the update Delta x, before lr)
 *   d   = rho * d + (1 - rho) * u^2                 (E[Delta x^2], "accum_update")
 *   p   = p - lr * u
 * </pre>
 *
 * <p>Source: Zeiler, "ADADELTA: An Adaptive Learning Rate Method" (arXiv:1212.5701, 2012),
 * Algorithm 1. The paper has no learning rate (equivalently {@code lr = 1}); Keras added one.
 *
 * <p><b>Defaults and porting.</b> {@link OptimizerSpec} defaults to {@code lr = 1.0}, {@code rho =
 * 0.95}, {@code eps = 1e-7}: standalone Keras 2 and {@code tf.keras} in TensorFlow 1.x. TensorFlow
 * 2.x's {@code tf.keras.optimizers.Adadelta} changed the default learning rate to {@code 0.001}
 * (same {@code rho}, {@code eps}), and TF 1.x's native {@code tf.train.AdadeltaOptimizer} also
 * defaults to {@code 0.001} with {@code eps = 1e-8}. A model whose code says {@code Adadelta()} and
 * is moved from TF 1.13 to TF 2.3 therefore trains about 1000x slower with no error: one plausible
 * cause of a captcha model that reached 1% accuracy after that upgrade. {@link
 * OptimizerSpec#defaulted()} reports when {@code lr} was defaulted so diagnostics can say so.
 *
 * <p>State: {@code ["accum_grad", "accum_update"]}. Build with {@link OptimizerSpec}; {@link #step}
 * overwrites {@code grads} of the trainable ranges.
 */
public final class Adadelta extends FlatOptimizer {
  private final double rho;
  private final double eps;
  private final double weightDecay;
  private final INDArray[] a;
  private final INDArray[] d;

  Adadelta(
      final INDArray params,
      final TrainableRanges ranges,
      final double rho,
      final double eps,
      final double weightDecay) {
    super(params, ranges, List.of("accum_grad", "accum_update"));
    this.rho = rho;
    this.eps = eps;
    this.weightDecay = weightDecay;
    this.a = stateViews(0);
    this.d = stateViews(1);
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
    a[range].muli(rho).addi(s.assign(g).muli(g).muli(1.0 - rho));
    g.divi(Transforms.sqrt(s.assign(a[range]).addi(eps), false));
    g.muli(Transforms.sqrt(s.assign(d[range]).addi(eps), false)); // g now holds u
    d[range].muli(rho).addi(s.assign(g).muli(g).muli(1.0 - rho));
    p.subi(g.muli(lr));
  }
}
