package io.synctower.common.nn;

import io.synctower.common.backend.HostMemory;
import io.synctower.common.metrics.MetricSums;
import java.nio.ByteBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Softmax cross-entropy over the last axis of logits {@code [n, P, K]} (P label positions, e.g. the
 * 4 characters of a captcha) or {@code [n, K]} (P = 1).
 *
 * <p>The loss of a sample is the mean over its positions; the step's loss is the mean over the
 * GLOBAL batch of M samples, so every tower scales its gradient by {@code 1 / (M P)}, never by its
 * own shard size: {@code dL/dz = (softmax(z) - onehot) / (M P)}.
 *
 * <p>Computed in float64 on the host through the logits' NIO view (a few thousand values), with the
 * log-sum-exp shift, so a confident wrong answer gives a large finite loss, not infinity. The
 * gradient buffer is owned here, preallocated per batch size, and written through {@link
 * HostMemory} so a device backend uses the new gradient. Not thread-safe (one per tower).
 */
public final class SoftmaxCrossEntropy {
  private final int positions;
  private final int classes;
  private final DataType dtype;
  private final PerBatchSize<HostMemory.Bound> gradient;
  private final double[] row;
  // Bound once: a per-step method reference on `this` would allocate.
  private final HostMemory.Writer<int[]> gradientWriter = this::accumulate;
  private INDArray lastGradient;

  // The pass in progress: inputs set by evaluate, sums written by accumulate.
  private ByteBuffer in;
  private long inOffset;
  private int samples;
  private double scale;
  private double lossSum;
  private long correctPositions;
  private long correctSequences;

  public SoftmaxCrossEntropy(final int positions, final int classes, final DataType dtype) {
    this.positions = positions;
    this.classes = classes;
    this.dtype = dtype;
    this.gradient =
        new PerBatchSize<>(n -> HostMemory.bind(Nd4j.create(dtype, (long) n * positions, classes)));
    this.row = new double[classes];
  }

  public int positions() {
    return positions;
  }

  public int classes() {
    return classes;
  }

  /**
   * Loss and accuracy of {@code logits} against {@code labels} ({@code n * P} class indices,
   * sample-major), as sums over the {@code n} samples that the coordinator adds over towers. If
   * {@code globalBatch > 0} also writes the gradient (see {@link #gradient()}).
   *
   * @throws IllegalArgumentException if a label is outside {@code 0 .. K-1}
   */
  public MetricSums evaluate(final INDArray logits, final int[] labels, final int globalBatch) {
    final int n = (int) logits.size(0);
    if (!logits.isView() && logits.length() != (long) n * positions * classes) {
      throw new IllegalArgumentException(
          "logits have "
              + logits.length()
              + " values, expected "
              + n
              + "x"
              + positions
              + "x"
              + classes);
    }
    final INDArray contiguous = logits.isView() ? logits.dup('c') : logits;
    in = HostMemory.read(contiguous);
    inOffset = contiguous.offset();
    samples = n;
    scale = globalBatch > 0 ? 1.0 / ((double) globalBatch * positions) : 0;
    lossSum = 0;
    correctPositions = 0;
    correctSequences = 0;
    try {
      if (globalBatch > 0) {
        final HostMemory.Bound grad = gradient.get(n);
        grad.write(labels, gradientWriter);
        lastGradient = grad.array();
      } else {
        accumulate(null, null, labels);
        lastGradient = null;
      }
    } finally {
      in = null;
    }
    return new MetricSums(lossSum, correctPositions, correctSequences, n);
  }

  /** The loss pass over {@link #in}; also writes the gradient into {@code out} unless null. */
  private void accumulate(final ByteBuffer out, final INDArray grad, final int[] labels) {
    final boolean f64 = dtype == DataType.DOUBLE;
    for (int s = 0; s < samples; s++) {
      double sampleLoss = 0;
      boolean allCorrect = true;
      for (int p = 0; p < positions; p++) {
        final int r = s * positions + p;
        final int label = labels[r];
        if (label < 0 || label >= classes) {
          throw new IllegalArgumentException(
              "label "
                  + label
                  + " of sample "
                  + s
                  + " position "
                  + p
                  + " is outside 0.."
                  + (classes - 1));
        }
        double max = Double.NEGATIVE_INFINITY;
        int argMax = 0;
        for (int k = 0; k < classes; k++) {
          final long index = inOffset + (long) r * classes + k;
          final double v = f64 ? in.getDouble((int) (index * 8)) : in.getFloat((int) (index * 4));
          row[k] = v;
          if (v > max) {
            max = v;
            argMax = k;
          }
        }
        double sumExp = 0;
        for (int k = 0; k < classes; k++) {
          sumExp += Math.exp(row[k] - max);
        }
        final double logSumExp = max + Math.log(sumExp);
        sampleLoss += logSumExp - row[label];
        if (argMax == label) {
          correctPositions++;
        } else {
          allCorrect = false;
        }
        if (out != null) {
          for (int k = 0; k < classes; k++) {
            final double g = (Math.exp(row[k] - logSumExp) - (k == label ? 1 : 0)) * scale;
            final int index = r * classes + k;
            if (f64) {
              out.putDouble(index * 8, g);
            } else {
              out.putFloat(index * 4, (float) g);
            }
          }
        }
      }
      lossSum += sampleLoss / positions;
      if (allCorrect) {
        correctSequences++;
      }
    }
  }

  /** dL/dlogits of the last {@link #evaluate} with a global batch, shaped {@code [n*P, K]}. */
  public INDArray gradient() {
    return lastGradient;
  }
}
