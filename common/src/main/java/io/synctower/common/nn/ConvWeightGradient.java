package io.synctower.common.nn;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.INDArrayIndex;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * The weight and bias gradients of a {@link Conv2D} without its input gradient, for the first layer
 * that runs backward, whose dL/dx nobody reads.
 *
 * <p>Why not {@code conv2d_bp}: libnd4j's op always computes dL/dx as well, and for an input with
 * few channels oneDNN pads them to a block of 16 and reorders dx into that layout: on the quick
 * start's first layer (1 channel) the reorder alone costs several times the weight gradient.
 *
 * <p>How: im2col by views, then one GEMM. The columns matrix {@code cols} is {@code [K + 1, M]}
 * with {@code K = kH * kW * C} rows in the weight layout's order {@code (kh, kw, c)}, {@code M = N
 * * OH * OW} columns in dy's order {@code (n, oh, ow)}, and a last row of ones. For each kernel
 * offset {@code (kh, kw)} the output positions whose input pixel lies inside the image form one
 * box, filled by one strided copy from x; the positions that read padding are never written and
 * stay zero. Then {@code [dW; db] = cols x dy[M, F]}: the ones row gives the bias gradient in the
 * same pass over dy. Same products and sums as libnd4j's own im2col + GEMM (float64 results agree
 * to rounding); float32 sums run in the GEMM's blocked accumulation.
 */
final class ConvWeightGradient {
  /**
   * Input channels up to which this beats {@code conv2d_bp} on the oneDNN build (measured: 1 and 3
   * channels about 2x to 5x faster; 32 channels 2x slower, where oneDNN's blocked layout costs
   * nothing extra and its own backward-weights kernel beats a copy plus GEMM).
   */
  static final int MAX_CHANNELS = 4;

  private final Shape in;
  private final Shape out;
  private final int kernel;
  private final int stride;
  private final int padTop;
  private final int padLeft;
  private final boolean bias;
  private final DataType dtype;
  private final PerBatchSize<Columns> columns;
  // [K (+1), F]: the GEMM's result, then copied into the bound gradient views (K * F + F values).
  private final INDArray result;
  private final INDArray resultWeight;
  private final INDArray resultBias;

  ConvWeightGradient(
      final Shape in,
      final Shape out,
      final int kernel,
      final int stride,
      final Padding padding,
      final boolean bias,
      final DataType dtype) {
    this.in = in;
    this.out = out;
    this.kernel = kernel;
    this.stride = stride;
    // "same": libnd4j's ConvolutionUtils::calcPadding2D (the extra row/column, if any, at the
    // bottom/right, which never needs a top/left offset here); explicit: p on every side (the
    // bottom/right rows beyond the last window are simply never read); valid: none.
    if (padding == Padding.SAME) {
      this.padTop = ((out.height() - 1) * stride + kernel - in.height()) / 2;
      this.padLeft = ((out.width() - 1) * stride + kernel - in.width()) / 2;
    } else {
      this.padTop = padding.size();
      this.padLeft = padding.size();
    }
    this.bias = bias;
    this.dtype = dtype;
    this.columns = new PerBatchSize<>(Columns::new);
    final long k = rows();
    this.result = Nd4j.create(dtype, bias ? k + 1 : k, out.channels());
    this.resultWeight =
        result
            .get(NDArrayIndex.interval(0, k), NDArrayIndex.all())
            .reshape('c', kernel, kernel, in.channels(), out.channels());
    this.resultBias = bias ? result.getRow(k) : null;
  }

  private long rows() {
    return (long) kernel * kernel * in.channels();
  }

  /**
   * Writes dL/dW (and dL/db) for input {@code x} and output gradient {@code dy} into the given
   * views; computes no dL/dx.
   */
  void compute(
      final INDArray x, final INDArray dy, final INDArray weightGrad, final INDArray biasGrad) {
    final Columns c = columns.get((int) x.size(0));
    c.fill(x);
    final INDArray dyMatrix = dy.reshape('c', c.positions, out.channels());
    Nd4j.gemm(c.cols, dyMatrix, result, false, false, 1.0, 0.0);
    weightGrad.assign(resultWeight);
    if (bias) {
      biasGrad.assign(resultBias);
    }
  }

  /** The columns matrix for one batch size and its per-offset destination boxes. */
  private final class Columns {
    final long positions;
    final INDArray cols;
    // Per kernel offset kh * kernel + kw: the box of cols it fills ([C, N, rows, cols]) and the
    // index ranges of x it reads; null where the offset only ever reads padding.
    final INDArray[] boxes;
    final long[][] ranges;
    // x of the last fill and its per-offset source views: rebuilt only when x is another array.
    INDArray viewsOf;
    final INDArray[] sourceViews;

    Columns(final int n) {
      positions = (long) n * out.height() * out.width();
      final long k = rows();
      cols = Nd4j.create(dtype, bias ? k + 1 : k, positions);
      if (bias) {
        cols.getRow(k).assign(1);
      }
      final INDArray byOffset =
          cols.get(NDArrayIndex.interval(0, k), NDArrayIndex.all())
              .reshape('c', kernel, kernel, in.channels(), n, out.height(), out.width());
      final int offsets = kernel * kernel;
      boxes = new INDArray[offsets];
      ranges = new long[offsets][];
      sourceViews = new INDArray[offsets];
      for (int kh = 0; kh < kernel; kh++) {
        final int[] r = inside(kh, padTop, in.height(), out.height());
        for (int kw = 0; kw < kernel; kw++) {
          final int[] q = inside(kw, padLeft, in.width(), out.width());
          if (r[1] <= r[0] || q[1] <= q[0]) {
            continue;
          }
          final int o = kh * kernel + kw;
          boxes[o] =
              byOffset.get(
                  NDArrayIndex.point(kh),
                  NDArrayIndex.point(kw),
                  NDArrayIndex.all(),
                  NDArrayIndex.all(),
                  NDArrayIndex.interval(r[0], r[1]),
                  NDArrayIndex.interval(q[0], q[1]));
          ranges[o] =
              new long[] {
                (long) r[0] * stride + kh - padTop,
                (long) (r[1] - 1) * stride + kh - padTop + 1,
                (long) q[0] * stride + kw - padLeft,
                (long) (q[1] - 1) * stride + kw - padLeft + 1
              };
        }
      }
    }

    /**
     * The output positions {@code [first, end)} along one axis whose input pixel {@code pos *
     * stride + offset - pad} lies inside {@code [0, size)}.
     */
    private int[] inside(final int offset, final int pad, final int size, final int outSize) {
      final int first = Math.max(0, Math.floorDiv(pad - offset + stride - 1, stride));
      final int end = Math.min(outSize, Math.floorDiv(size - 1 + pad - offset, stride) + 1);
      return new int[] {first, end};
    }

    /**
     * Every stride-th index from {@code first} to {@code end} (exclusive). A single index is
     * spelled without the stride: ND4J 1.0.0-M2.1 rejects a strided interval shorter than its
     * stride.
     */
    private INDArrayIndex every(final long first, final long end) {
      return end - first <= 1
          ? NDArrayIndex.interval(first, end)
          : NDArrayIndex.interval(first, stride, end);
    }

    void fill(final INDArray x) {
      if (x != viewsOf) {
        for (int o = 0; o < boxes.length; o++) {
          if (boxes[o] != null) {
            final long[] g = ranges[o];
            sourceViews[o] =
                x.get(NDArrayIndex.all(), every(g[0], g[1]), every(g[2], g[3]), NDArrayIndex.all())
                    .permute(3, 0, 1, 2);
          }
        }
        viewsOf = x;
      }
      for (int o = 0; o < boxes.length; o++) {
        if (boxes[o] != null) {
          boxes[o].assign(sourceViews[o]);
        }
      }
    }
  }
}
