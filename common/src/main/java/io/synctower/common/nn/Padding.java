package io.synctower.common.nn;

/**
 * How a convolution or pooling window treats the border.
 *
 * <ul>
 *   <li>{@link #VALID}: no padding; windows that do not fit are dropped (Keras {@code valid}).
 *   <li>{@link #SAME}: output size {@code ceil(in / stride)}, padding split as TensorFlow does (the
 *       extra row or column at the bottom/right), Keras {@code same}.
 *   <li>{@link #explicit}: {@code size} zeros (for max pooling: minus infinity) on every side, then
 *       output size {@code floor((in + 2 size - kernel) / stride) + 1}: PyTorch's {@code
 *       padding=size}. ResNets need it: with stride 2, TensorFlow's {@code same} pads only at the
 *       bottom/right and so computes something else than torchvision's symmetric padding.
 * </ul>
 *
 * @param mode which of the three
 * @param size the padding on each side for {@link Mode#EXPLICIT}, 0 otherwise
 */
public record Padding(Mode mode, int size) {
  /** The three kinds of padding. */
  public enum Mode {
    VALID,
    SAME,
    EXPLICIT
  }

  public static final Padding VALID = new Padding(Mode.VALID, 0);
  public static final Padding SAME = new Padding(Mode.SAME, 0);

  public Padding {
    if (mode == null) {
      throw new IllegalArgumentException("padding mode is null");
    }
    if (size < 0 || (mode != Mode.EXPLICIT && size != 0)) {
      throw new IllegalArgumentException("padding " + mode + " with size " + size);
    }
  }

  /** PyTorch's {@code padding=size}: {@code size} on every side. */
  public static Padding explicit(final int size) {
    return new Padding(Mode.EXPLICIT, size);
  }

  /** As a configuration writes it: {@code valid}, {@code same} or the number. */
  @Override
  public String toString() {
    return mode == Mode.EXPLICIT ? Integer.toString(size) : mode.name().toLowerCase();
  }
}
