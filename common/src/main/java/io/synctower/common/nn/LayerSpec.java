package io.synctower.common.nn;

import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * What a configuration says about one layer, before shapes are known. {@link
 * io.synctower.common.config.ModelFactory} turns a list of these into layers, checking that shapes
 * flow. A {@code null} name means "derive one" ({@code conv1}, {@code bn2}, ...).
 */
public sealed interface LayerSpec {
  String name();

  /**
   * The specs that become layers of their own, in model order: {@code specs} with each residual
   * block replaced by its main layers, then its shortcut layers (the junction layers and the ReLU
   * after the add are not specs). A new list; the specs are not copied.
   */
  static List<LayerSpec> leaves(final List<LayerSpec> specs) {
    final List<LayerSpec> out = new ArrayList<>();
    for (final LayerSpec spec : specs) {
      if (spec instanceof Residual r) {
        out.addAll(leaves(r.layers()));
        out.addAll(leaves(r.shortcut()));
      } else {
        out.add(spec);
      }
    }
    return out;
  }

  /** {@code specs} with every spec that is not a block replaced by {@code f(spec)}, blocks too. */
  static List<LayerSpec> mapLeaves(final List<LayerSpec> specs, final UnaryOperator<LayerSpec> f) {
    final List<LayerSpec> out = new ArrayList<>();
    for (final LayerSpec spec : specs) {
      out.add(
          spec instanceof Residual r
              ? new Residual(
                  r.name(), mapLeaves(r.layers(), f), mapLeaves(r.shortcut(), f), r.reluAfterAdd())
              : f.apply(spec));
    }
    return out;
  }

  /** 2-D convolution; {@code init} null means Glorot uniform (Keras' default). */
  record Conv2d(
      String name,
      int filters,
      int kernel,
      int stride,
      Padding padding,
      boolean bias,
      ParamSpec.Init init,
      boolean trainable)
      implements LayerSpec {}

  record Dense(String name, int units, boolean bias, ParamSpec.Init init, boolean trainable)
      implements LayerSpec {}

  record Relu(String name) implements LayerSpec {}

  /** Max pooling; {@code padding} on every side counts as minus infinity (PyTorch's). */
  record MaxPool(String name, int size, int stride, int padding) implements LayerSpec {}

  /**
   * Average pooling; {@code padding} zeros on every side, counted in the divisor (PyTorch's {@code
   * count_include_pad=True}).
   */
  record AvgPool(String name, int size, int stride, int padding) implements LayerSpec {}

  /**
   * The mean over height and width of an image {@code [H, W, C]}: output flat {@code [C]}
   * (PyTorch's {@code AdaptiveAvgPool2d(1)} followed by {@code flatten(1)}).
   */
  record GlobalAvgPool(String name) implements LayerSpec {}

  /**
   * A residual block: {@code out = main(x) + shortcut(x)}, then a ReLU if {@code reluAfterAdd} (He
   * et al. 2016). An empty {@code shortcut} is the identity. Inner layers are named {@code
   * <block>.<inner>}; unnamed inner layers get names derived within the block ({@code conv1},
   * {@code bn1}, ... on the main branch; {@code downsample.0}, {@code downsample.1}, ... on the
   * shortcut), which are torchvision's names.
   */
  record Residual(
      String name, List<LayerSpec> layers, List<LayerSpec> shortcut, boolean reluAfterAdd)
      implements LayerSpec {
    public Residual {
      layers = List.copyOf(layers);
      shortcut = List.copyOf(shortcut);
    }
  }

  record Dropout(String name, double rate) implements LayerSpec {}

  record Flatten(String name) implements LayerSpec {}

  record Reshape(String name, List<Integer> shape) implements LayerSpec {}

  /**
   * Batch norm; NaN decay/epsilon mean "the {@code bn:} section's value". {@code gammaInit} is the
   * initial scale gamma: {@link ParamSpec.Init#ONES} (the usual; null means it too) or {@link
   * ParamSpec.Init#ZEROS}, which makes the last BN of a residual block start as a zero branch, so
   * the block starts as its shortcut (Goyal et al. 2017, "zero-init residual").
   */
  record BatchNorm(
      String name, double decay, double epsilon, boolean trainable, ParamSpec.Init gammaInit)
      implements LayerSpec {
    public BatchNorm {
      if (gammaInit == null) {
        gammaInit = ParamSpec.Init.ONES;
      }
      if (gammaInit != ParamSpec.Init.ONES && gammaInit != ParamSpec.Init.ZEROS) {
        throw new IllegalArgumentException("BN gamma starts at ONES or ZEROS, not " + gammaInit);
      }
    }

    /** A BN whose gamma starts at 1. */
    public BatchNorm(
        final String name, final double decay, final double epsilon, final boolean trainable) {
      this(name, decay, epsilon, trainable, ParamSpec.Init.ONES);
    }
  }
}
