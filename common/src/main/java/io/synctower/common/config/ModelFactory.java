package io.synctower.common.config;

import io.synctower.common.bn.BatchNorm;
import io.synctower.common.nn.AvgPool2D;
import io.synctower.common.nn.Conv2D;
import io.synctower.common.nn.Dense;
import io.synctower.common.nn.Dropout;
import io.synctower.common.nn.Flatten;
import io.synctower.common.nn.GlobalAvgPool;
import io.synctower.common.nn.Layer;
import io.synctower.common.nn.LayerSpec;
import io.synctower.common.nn.MaxPool2D;
import io.synctower.common.nn.Model;
import io.synctower.common.nn.ParamSpec;
import io.synctower.common.nn.Relu;
import io.synctower.common.nn.Reshape;
import io.synctower.common.nn.Shape;
import io.synctower.common.nn.ShapeException;
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
    return new Model(layers(specs, input, dtype, defaultDecay, defaultEpsilon), dtype);
  }

  /**
   * The layers {@link #build} puts into the model, without the model: no parameter, gradient or
   * activation buffer is allocated, so a caller can size a model before allocating it.
   *
   * @throws ShapeException at the first layer that cannot take its input
   */
  public static List<Layer> layers(
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
    return layers;
  }

  /**
   * A layer that cannot take its input.
   *
   * @param index the layer's position in the spec list ({@code model.layers[index]})
   * @param name the layer's name, given or derived
   * @param type the layer's configuration type ({@code conv2d}, {@code dense}, ...)
   * @param input the shape the layer was given, or null when the problem does not depend on it
   * @param problem what is wrong and the fix, e.g. "kernel 9 with padding valid does not fit input
   *     ...; use padding: same, ..."
   */
  public record LayerProblem(int index, String name, String type, Shape input, String problem) {}

  /**
   * What {@link #check} found.
   *
   * @param problems every layer that cannot take its input, in layer order; empty when the shapes
   *     flow
   * @param output the model's per-sample output shape; null when a problem leaves it unknown
   */
  public record Check(List<LayerProblem> problems, Shape output) {}

  /**
   * Threads {@code input} through the layers as {@link #build} does, but reports every problem it
   * can find instead of throwing at the first. It constructs the layers but not the model, so no
   * parameter, gradient or activation buffer is allocated (batch norm layers allocate their few
   * per-channel scratch vectors).
   *
   * <p>After a layer fails, the shape is unknown, and the layers after it are not checked until a
   * {@code dense} or {@code reshape} layer, whose output shape does not depend on its input; from
   * there on, checking goes on. Duplicate names are reported wherever they are.
   */
  public static Check check(
      final List<LayerSpec> specs,
      final Shape input,
      final DataType dtype,
      final double defaultDecay,
      final double defaultEpsilon) {
    final List<LayerProblem> problems = new ArrayList<>();
    final Map<String, Integer> counters = new HashMap<>();
    final Set<String> names = new HashSet<>();
    Shape shape = input;
    for (int i = 0; i < specs.size(); i++) {
      final LayerSpec spec = specs.get(i);
      final String name = spec.name() != null ? spec.name() : derivedName(spec, counters);
      final String type = typeName(spec);
      if (!names.add(name)) {
        problems.add(
            new LayerProblem(
                i, name, type, null, "duplicate layer name; give each layer a unique 'name'"));
      }
      if (shape == null) {
        shape = outputRegardlessOfInput(spec);
        continue;
      }
      try {
        shape = create(spec, name, shape, dtype, i, defaultDecay, defaultEpsilon).outputShape();
      } catch (ShapeException e) {
        problems.add(new LayerProblem(i, name, type, shape, e.problem()));
        shape = outputRegardlessOfInput(spec);
      } catch (IllegalArgumentException e) {
        // A shape with a non-positive dimension, e.g. a pool window that leaves nothing.
        problems.add(new LayerProblem(i, name, type, shape, e.getMessage()));
        shape = outputRegardlessOfInput(spec);
      }
    }
    return new Check(List.copyOf(problems), shape);
  }

  /** The output shape of layers whose output does not depend on their input; null otherwise. */
  private static Shape outputRegardlessOfInput(final LayerSpec spec) {
    if (spec instanceof LayerSpec.Dense d) {
      return Shape.flat(d.units());
    }
    if (spec instanceof LayerSpec.Reshape r) {
      return new Shape(r.shape().stream().mapToInt(Integer::intValue).toArray());
    }
    return null;
  }

  /**
   * The names {@link #build} gives these layers: each spec's own name, or one derived from its type
   * and position ({@code conv1}, {@code bn2}, {@code fc1}). Needs no input shape.
   */
  public static List<String> layerNames(final List<LayerSpec> specs) {
    final Map<String, Integer> counters = new HashMap<>();
    final List<String> names = new ArrayList<>();
    for (final LayerSpec spec : specs) {
      names.add(spec.name() != null ? spec.name() : derivedName(spec, counters));
    }
    return names;
  }

  /** The {@code type:} a configuration gives this layer. */
  public static String typeName(final LayerSpec spec) {
    if (spec instanceof LayerSpec.Conv2d) {
      return "conv2d";
    }
    if (spec instanceof LayerSpec.MaxPool) {
      return "maxpool2d";
    }
    if (spec instanceof LayerSpec.AvgPool) {
      return "avgpool2d";
    }
    return spec.getClass().getSimpleName().toLowerCase(java.util.Locale.ROOT);
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
    } else if (spec instanceof LayerSpec.AvgPool) {
      base = "avgpool";
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
      return new MaxPool2D(name, in, p.size(), p.stride(), p.padding(), dtype);
    }
    if (spec instanceof LayerSpec.AvgPool p) {
      return new AvgPool2D(name, in, p.size(), p.stride(), p.padding(), dtype);
    }
    if (spec instanceof LayerSpec.GlobalAvgPool) {
      return new GlobalAvgPool(name, in, dtype);
    }
    if (spec instanceof LayerSpec.Residual) {
      // TODO(session 5, residual helper)
      throw new ShapeException(name, typeName(spec) + " is not implemented yet");
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
