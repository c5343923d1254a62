package io.synctower.coordinator.seeds;

import io.synctower.common.data.NpyArray;
import io.synctower.common.data.OverfitDataset;
import java.util.Map;

/**
 * An independent float64 re-implementation, in plain Java, of seed 001's model (flatten, dense
 * {@code fc1}, relu, batchnorm {@code bn1}, dense {@code fc2}) on the overfit images, from the
 * weights as a PyTorch {@code state_dict} would hold them ({@code WeightsFile.toArrays}). It shares
 * no code with the trainer's layers: flatten follows the documented C,H,W order, dense is {@code y
 * = W x + b} with W as [out, in], BN follows Ioffe &amp; Szegedy.
 */
final class OverfitMlp {
  private final Map<String, NpyArray> weights;
  private final double epsilon;

  OverfitMlp(final Map<String, NpyArray> weights, final double epsilon) {
    this.weights = weights;
    this.epsilon = epsilon;
  }

  /** Image {@code i} of the overfit set, flattened in C,H,W order. */
  static double[] image(final int i) {
    final int side = OverfitDataset.SIDE;
    final int channels = OverfitDataset.CHANNELS;
    final float[] hwc = new float[side * side * channels];
    new OverfitDataset(i + 1).sample(i, hwc, new int[1], 0);
    final double[] chw = new double[hwc.length];
    for (int c = 0; c < channels; c++) {
      for (int p = 0; p < side * side; p++) {
        chw[c * side * side + p] = hwc[p * channels + c];
      }
    }
    return chw;
  }

  /** The batchnorm's input for images 0..n-1: relu(fc1(x)), [n][features]. */
  double[][] bnInput(final int n) {
    final double[][] h = new double[n][];
    for (int i = 0; i < n; i++) {
      h[i] = dense("fc1", image(i));
      for (int f = 0; f < h[i].length; f++) {
        h[i][f] = Math.max(h[i][f], 0);
      }
    }
    return h;
  }

  /** Per-feature mean of {@code rows}. */
  static double[] mean(final double[][] rows) {
    final double[] mean = new double[rows[0].length];
    for (final double[] r : rows) {
      for (int f = 0; f < mean.length; f++) {
        mean[f] += r[f] / rows.length;
      }
    }
    return mean;
  }

  /** Per-feature variance of {@code rows}, divided by {@code n - correction}. */
  static double[] variance(final double[][] rows, final int correction) {
    final double[] mean = mean(rows);
    final double[] var = new double[mean.length];
    for (final double[] r : rows) {
      for (int f = 0; f < var.length; f++) {
        final double d = r[f] - mean[f];
        var[f] += d * d;
      }
    }
    for (int f = 0; f < var.length; f++) {
      var[f] /= rows.length - correction;
    }
    return var;
  }

  /**
   * The predicted class of every image in {@code hidden} (BN inputs), normalizing with {@code mean}
   * and {@code var}: the moving statistics for inference, the batch's for a training-mode forward.
   */
  int[] predictions(final double[][] hidden, final double[] mean, final double[] var) {
    final double[] gamma = weights.get("bn1.weight").toDoubleArray();
    final double[] beta = weights.get("bn1.bias").toDoubleArray();
    final int[] predicted = new int[hidden.length];
    for (int i = 0; i < hidden.length; i++) {
      final double[] y = new double[gamma.length];
      for (int f = 0; f < y.length; f++) {
        y[f] = gamma[f] * (hidden[i][f] - mean[f]) / Math.sqrt(var[f] + epsilon) + beta[f];
      }
      final double[] logits = dense("fc2", y);
      int best = 0;
      for (int k = 1; k < logits.length; k++) {
        if (logits[k] > logits[best]) {
          best = k;
        }
      }
      predicted[i] = best;
    }
    return predicted;
  }

  private double[] dense(final String layer, final double[] x) {
    final NpyArray w = weights.get(layer + ".weight");
    final double[] wv = w.toDoubleArray();
    final double[] b = weights.get(layer + ".bias").toDoubleArray();
    final int out = (int) w.dim(0);
    final int in = (int) w.dim(1);
    final double[] y = new double[out];
    for (int o = 0; o < out; o++) {
      double s = b[o];
      for (int k = 0; k < in; k++) {
        s += wv[o * in + k] * x[k];
      }
      y[o] = s;
    }
    return y;
  }
}
