package io.synctower.common.nn;

import org.nd4j.linalg.api.buffer.DataType;

/**
 * Max pooling with window {@code size}, stride {@code stride} and {@code padding} cells on every
 * side, PyTorch's {@code MaxPool2d(size, stride, padding)}: padded cells count as minus infinity,
 * so they never win; output {@code floor((in + 2 padding - size) / stride) + 1} (a trailing row or
 * column that does not fill a window is dropped; padding 0 is Keras' {@code valid}). PyTorch
 * refuses {@code padding > size / 2}, and so does this layer. NHWC, libnd4j's {@code maxpool2d} /
 * {@code maxpool2d_bp}, which skip the padded cells ({@code MaxPoolTest} checks it on an all
 * negative input). Backward routes each output's gradient to the first maximum of its window in
 * row-major order (a tie goes to the top-left cell), as libnd4j and PyTorch's CPU kernel do.
 */
public final class MaxPool2D extends Pool2D {
  /** Without padding (Keras' {@code valid}). */
  public MaxPool2D(
      final String name, final Shape in, final int size, final int stride, final DataType dtype) {
    this(name, in, size, stride, 0, dtype);
  }

  public MaxPool2D(
      final String name,
      final Shape in,
      final int size,
      final int stride,
      final int padding,
      final DataType dtype) {
    super("maxpool2d", 0, name, in, size, stride, padding, dtype);
  }
}
