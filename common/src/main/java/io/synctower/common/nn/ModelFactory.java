package io.synctower.common.nn;

import io.synctower.common.bn.BatchNorm;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * Builds a {@link Model} from layer specs and the input shape, threading each layer's output shape
 * into the next. A shape that does not flow fails here, before anything trains, with the layer's
 * name and a suggested fix.
 */
public final class ModelFactory {
  private ModelFactory() {}

  /**
   * @param input the per-sample input shape (internal layout: image {@code [H, W, C]})
   * @param defaultDecay BN decay for layers that do not set their own
   * @param defaultEpsilon BN epsilon for layers that do not set their own
   */
  public static Model build(
      final List<LayerSpec> specs,
      final Shape input,
      final DataType dtype,
      final double defaultDecay,
      final double defaultEpsilon) {
    final List<Layer> layers = new ArrayList<>();
    final Map<String, Integer> counters = new HashMap<>();
    final Set<String> names = new HashSet<>();
    Shape shape = input;
    for (int i = 0; i < specs.size(); i++) {
      final LayerSpec spec = specs.get(i);
      final String name = spec.name() != null ? spec.name() : derivedName(spec, counters);
      if (!names.add(name)) {
        throw new ShapeException(name, "duplicate layer name; give each layer a unique 'name'");
      }
      final Layer layer = create(spec, name, shape, dtype, i, defaultDecay, defaultEpsilon);
      layers.add(layer);
      shape = layer.outputShape();
    }
    return new Model(layers, dtype);
  }

  private static String derivedName(final LayerSpec spec, final Map<String, Integer> counters) {
    final String base;
    if (spec instanceof LayerSpec.Conv2d) {
      base = "conv";
    } else if (spec instanceof LayerSpec.Dense) {
      base = "fc";
    } else if (spec instanceof LayerSpec.BatchNorm) {
      base = "bn";
    } else if (spec instanceof LayerSpec.MaxPool) {
      base = "pool";
    } else {
      base = spec.getClass().getSimpleName().toLowerCase(java.util.Locale.ROOT);
    }
    final int n = counters.merge(base, 1, Integer::sum);
    return base + n;
  }

  private static Layer create(
      final LayerSpec spec,
      final String name,
      final Shape in,
      final DataType dtype,
      final int index,
      final double defaultDecay,
      final double defaultEpsilon) {
    if (spec instanceof LayerSpec.Conv2d c) {
      return new Conv2D(
          name,
          in,
          c.filters(),
          c.kernel(),
          c.stride(),
          c.padding(),
          c.bias(),
          c.trainable(),
          c.init() == null ? ParamSpec.Init.GLOROT_UNIFORM : c.init(),
          dtype);
    }
    if (spec instanceof LayerSpec.Dense d) {
      return new Dense(
          name,
          in,
          d.units(),
          d.bias(),
          d.trainable(),
          d.init() == null ? ParamSpec.Init.GLOROT_UNIFORM : d.init(),
          dtype);
    }
    if (spec instanceof LayerSpec.Relu) {
      return new Relu(name, in, dtype);
    }
    if (spec instanceof LayerSpec.MaxPool p) {
      return new MaxPool2D(name, in, p.size(), p.stride(), dtype);
    }
    if (spec instanceof LayerSpec.Dropout d) {
      return new Dropout(name, in, d.rate(), index, dtype);
    }
    if (spec instanceof LayerSpec.Flatten) {
      return new Flatten(name, in, dtype);
    }
    if (spec instanceof LayerSpec.Reshape r) {
      return new Reshape(
          name, in, new Shape(r.shape().stream().mapToInt(Integer::intValue).toArray()));
    }
    final LayerSpec.BatchNorm b = (LayerSpec.BatchNorm) spec;
    return new BatchNorm(
        name,
        in,
        Double.isNaN(b.decay()) ? defaultDecay : b.decay(),
        Double.isNaN(b.epsilon()) ? defaultEpsilon : b.epsilon(),
        b.trainable(),
        dtype);
  }
}
