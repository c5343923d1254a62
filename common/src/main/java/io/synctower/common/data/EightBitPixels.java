package io.synctower.common.data;

/**
 * 8-bit pixels as the model sees them, {@code value / 255}: in float32 for a float32 model, and
 * computed in double for a float64 one (not a float32 result widened), so each image source
 * converts its bytes once, into the model's precision.
 */
final class EightBitPixels {
  private EightBitPixels() {}

  /** {@code out[i] = (bytes[from + i] & 0xFF) / 255f} for {@code i < n}. */
  static void toFloats(final byte[] bytes, final int from, final int n, final float[] out) {
    for (int i = 0; i < n; i++) {
      out[i] = (bytes[from + i] & 0xFF) / 255f;
    }
  }

  /** {@code out[i] = (bytes[from + i] & 0xFF) / 255.0} for {@code i < n}. */
  static void toDoubles(final byte[] bytes, final int from, final int n, final double[] out) {
    for (int i = 0; i < n; i++) {
      out[i] = (bytes[from + i] & 0xFF) / 255.0;
    }
  }
}
