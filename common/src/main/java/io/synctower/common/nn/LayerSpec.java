package io.synctower.common.nn;

import java.util.List;

/**
 * What a configuration says about one layer, before shapes are known. {@link
 * io.synctower.common.config.ModelFactory} turns a list of these into layers, checking that shapes
 * flow. A {@code null} name means "derive one" ({@code conv1}, {@code bn2}, ...).
 */
public sealed interface LayerSpec {
  String name();

  /** 2-D convolution; {@code init} null means Glorot uniform (Keras' default). */
  record Conv2d(
      String name,
      int filters,
      int kernel,
      int stride,
      Conv2D.Padding padding,
      boolean bias,
      ParamSpec.Init init,
      boolean trainable)
      implements LayerSpec {}

  record Dense(String name, int units, boolean bias, ParamSpec.Init init, boolean trainable)
      implements LayerSpec {}

  record Relu(String name) implements LayerSpec {}

  record MaxPool(String name, int size, int stride) implements LayerSpec {}

  record Dropout(String name, double rate) implements LayerSpec {}

  record Flatten(String name) implements LayerSpec {}

  record Reshape(String name, List<Integer> shape) implements LayerSpec {}

  /** Batch norm; NaN decay/epsilon mean "the {@code bn:} section's value". */
  record BatchNorm(String name, double decay, double epsilon, boolean trainable)
      implements LayerSpec {}
}
