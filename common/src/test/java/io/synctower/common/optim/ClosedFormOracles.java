package io.synctower.common.optim;

/**
 * Element-by-element reference implementations in plain Java doubles, written from the papers' and
 * PyTorch's documented formulas (not from the ND4J code under test). Each runs {@code grads.length}
 * updates with per-step rates {@code lrs} on a copy of {@code p0}, skipping elements where {@code
 * trainable[i]} is false.
 */
final class ClosedFormOracles {
  private ClosedFormOracles() {}

  /** torch.optim.SGD, dampening 0. */
  static double[] sgd(
      final double[] p0,
      final double[][] grads,
      final double[] lrs,
      final boolean[] trainable,
      final double mu,
      final boolean nesterov,
      final double wd) {
    final double[] p = p0.clone();
    final double[] buf = new double[p.length];
    for (int t = 0; t < grads.length; t++) {
      for (int i = 0; i < p.length; i++) {
        if (!trainable[i]) {
          continue;
        }
        double g = grads[t][i] + wd * p[i];
        if (mu != 0.0) {
          buf[i] = t == 0 ? g : mu * buf[i] + g; // PyTorch: buf = g.clone() on the first step
          g = nesterov ? g + mu * buf[i] : buf[i];
        }
        p[i] = p[i] - lrs[t] * g;
      }
    }
    return p;
  }

  /** Kingma &amp; Ba Algorithm 1; decoupled = Loshchilov &amp; Hutter AdamW. */
  static double[] adam(
      final double[] p0,
      final double[][] grads,
      final double[] lrs,
      final boolean[] trainable,
      final double beta1,
      final double beta2,
      final double eps,
      final double wd,
      final boolean decoupled) {
    final double[] p = p0.clone();
    final double[] m = new double[p.length];
    final double[] v = new double[p.length];
    for (int t = 1; t <= grads.length; t++) {
      final double lr = lrs[t - 1];
      for (int i = 0; i < p.length; i++) {
        if (!trainable[i]) {
          continue;
        }
        double g = grads[t - 1][i];
        if (decoupled) {
          p[i] = p[i] - lr * wd * p[i];
        } else {
          g = g + wd * p[i];
        }
        m[i] = beta1 * m[i] + (1 - beta1) * g;
        v[i] = beta2 * v[i] + (1 - beta2) * g * g;
        final double mHat = m[i] / (1 - Math.pow(beta1, t));
        final double vHat = v[i] / (1 - Math.pow(beta2, t));
        p[i] = p[i] - lr * mHat / (Math.sqrt(vHat) + eps);
      }
    }
    return p;
  }

  /** torch.optim.RMSprop, centered=False. */
  static double[] rmsProp(
      final double[] p0,
      final double[][] grads,
      final double[] lrs,
      final boolean[] trainable,
      final double alpha,
      final double eps,
      final double mu,
      final double wd) {
    final double[] p = p0.clone();
    final double[] sq = new double[p.length];
    final double[] buf = new double[p.length];
    for (int t = 0; t < grads.length; t++) {
      for (int i = 0; i < p.length; i++) {
        if (!trainable[i]) {
          continue;
        }
        final double g = grads[t][i] + wd * p[i];
        sq[i] = alpha * sq[i] + (1 - alpha) * g * g;
        final double avg = Math.sqrt(sq[i]) + eps;
        if (mu > 0) {
          buf[i] = mu * buf[i] + g / avg;
          p[i] = p[i] - lrs[t] * buf[i];
        } else {
          p[i] = p[i] - lrs[t] * g / avg;
        }
      }
    }
    return p;
  }

  /** Zeiler 2012 Algorithm 1 with Keras' learning rate. */
  static double[] adadelta(
      final double[] p0,
      final double[][] grads,
      final double[] lrs,
      final boolean[] trainable,
      final double rho,
      final double eps,
      final double wd) {
    final double[] p = p0.clone();
    final double[] eg2 = new double[p.length];
    final double[] edx2 = new double[p.length];
    for (int t = 0; t < grads.length; t++) {
      for (int i = 0; i < p.length; i++) {
        if (!trainable[i]) {
          continue;
        }
        final double g = grads[t][i] + wd * p[i];
        eg2[i] = rho * eg2[i] + (1 - rho) * g * g;
        final double rmsDx = Math.sqrt(edx2[i] + eps);
        final double rmsG = Math.sqrt(eg2[i] + eps);
        final double dx = rmsDx / rmsG * g;
        edx2[i] = rho * edx2[i] + (1 - rho) * dx * dx;
        p[i] = p[i] - lrs[t] * dx;
      }
    }
    return p;
  }
}
