package io.synctower.common.nn;

/**
 * One named tensor a layer owns, laid out in one of the model's flat buffers.
 *
 * @param name the PyTorch-style suffix ({@code weight}, {@code bias}, {@code running_mean}, {@code
 *     running_var}), so {@code <layer>.<name>} is the key in weight files
 * @param shape the shape in the internal layout (conv weights {@code [kH, kW, in, out]})
 * @param kind whether it lives in the parameter buffer (learned by the optimizer) or the state
 *     buffer (BN moving statistics)
 * @param trainable false for parameters of a frozen layer: the optimizer skips them
 * @param init how it is initialized
 */
public record ParamSpec(String name, long[] shape, Kind kind, boolean trainable, Init init) {
  /** Which flat buffer the tensor lives in. */
  public enum Kind {
    PARAMETER,
    STATE
  }

  /** Initializers; fan-in/fan-out are given by the layer. */
  public enum Init {
    ZEROS,
    ONES,
    /**
     * Glorot &amp; Bengio 2010, uniform(-a, a) with a = sqrt(6 / (fanIn + fanOut)); Keras' default.
     */
    GLOROT_UNIFORM,
    /** He et al. 2015, normal(0, sqrt(2 / fanIn)); suited to ReLU. */
    HE_NORMAL
  }

  public long length() {
    long n = 1;
    for (final long d : shape) {
      n *= d;
    }
    return n;
  }
}
