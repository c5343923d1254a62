package io.synctower.common.nn;

import org.nd4j.linalg.api.buffer.DataType;

/**
 * Average pooling with window {@code size}, stride {@code stride} and {@code padding} zeros on
 * every side, PyTorch's {@code AvgPool2d(size, stride, padding)} with its defaults {@code
 * count_include_pad=True, ceil_mode=False}: every window divides by {@code size * size}, padded
 * zeros included; output {@code floor((in + 2 padding - size) / stride) + 1}. PyTorch refuses
 * {@code padding > size / 2}, and so does this layer. NHWC, libnd4j's {@code avgpool2d} / {@code
 * avgpool2d_bp} with divisor mode 1 (include padding; mode 0 would divide a border window by its
 * cells inside the image, which {@code AvgPoolTest} shows differs).
 */
public final class AvgPool2D extends Pool2D {
  /** libnd4j's pooling extraParam0 for average pooling: divide by kH * kW, padding included. */
  private static final int DIVISOR_INCLUDES_PADDING = 1;

  public AvgPool2D(
      final String name,
      final Shape in,
      final int size,
      final int stride,
      final int padding,
      final DataType dtype) {
    super("avgpool2d", DIVISOR_INCLUDES_PADDING, name, in, size, stride, padding, dtype);
  }
}
