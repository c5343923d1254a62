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
import io.synctower.common.nn.ResidualJunction;
import io.synctower.common.nn.Shape;
import io.synctower.common.nn.ShapeException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * Builds a {@link Model} from layer specs and the input shape, threading each layer's output shape
 * into the next. A shape that does not flow fails here, before anything trains, with the layer's
 * name and a suggested fix.
 *
 * <p>The model stays a flat list of layers: a residual block ({@link LayerSpec.Residual}) becomes
 * {@code [<b>.fork] [main layers] [<b>.shortcut] [shortcut layers] [<b>.add] [<b>.relu]}, the three
 * junction layers sharing one {@link ResidualJunction}, so that everything that works on the layer
 * list (flat buffers in layer order, gradient buckets overlapped with backward, SyncBN collectives
 * in layer order, a frozen prefix) works on residual networks unchanged.
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
   * activation buffer is allocated, so a caller can size a model before allocating it. A residual
   * block becomes flat layers ({@link FlatLayers}).
   *
   * @throws ShapeException at the first layer that cannot take its input
   */
  public static List<Layer> layers(
      final List<LayerSpec> specs,
      final Shape input,
      final DataType dtype,
      final double defaultDecay,
      final double defaultEpsilon) {
    final List<FlatLayers.Entry> entries = FlatLayers.of(specs);
    final List<Layer> layers = new ArrayList<>();
    final Set<String> names = new HashSet<>();
    Shape shape = input;
    ResidualJunction junction = null;
    int forkIndex = -1;
    for (int i = 0; i < entries.size(); i++) {
      final FlatLayers.Entry e = entries.get(i);
      if (e.problem() != null) {
        throw new ShapeException(e.name(), e.problem());
      }
      if (!names.add(e.name())) {
        throw new ShapeException(e.name(), DUPLICATE);
      }
      final Layer layer;
      switch (e.part()) {
        case FORK -> {
          junction = new ResidualJunction(e.block(), shape, dtype);
          forkIndex = layers.size();
          layer = junction.fork();
        }
        case SHORTCUT -> layer = junction.shortcut(shape);
        case ADD -> layer = junction.add(shape, layers.subList(forkIndex + 1, layers.size()));
        default ->
            layer = create(e.spec(), e.name(), shape, dtype, i, defaultDecay, defaultEpsilon);
      }
      layers.add(layer);
      shape = layer.outputShape();
    }
    return layers;
  }

  private static final String DUPLICATE = "duplicate layer name; give each layer a unique 'name'";

  /**
   * A layer that cannot take its input.
   *
   * @param index the position in the spec list ({@code model.layers[index]}) of the layer or of the
   *     residual block it is in
   * @param name the layer's name, given or derived ({@code layer1.0.conv1} inside a block)
   * @param type the layer's configuration type ({@code conv2d}, {@code dense}, ...)
   * @param input the shape the layer was given, or null when the problem does not depend on it
   * @param problem what is wrong and the fix, e.g. "kernel 9 with padding valid does not fit input
   *     ...; use padding: same, ..."
   * @param field the configuration field of the layer, e.g. {@code model.layers[3]} or, inside a
   *     residual block, {@code model.layers[3].layers[1]} and {@code model.layers[3].shortcut[0]}
   */
  public record LayerProblem(
      int index, String name, String type, Shape input, String problem, String field) {
    /** A problem of the top-level layer {@code model.layers[index]}. */
    public LayerProblem(
        final int index,
        final String name,
        final String type,
        final Shape input,
        final String problem) {
      this(index, name, type, input, problem, "model.layers[" + index + "]");
    }
  }

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
   * there on, checking goes on. A residual block's shortcut is checked on the block's input even
   * when its main branch failed. Duplicate names are reported wherever they are.
   */
  public static Check check(
      final List<LayerSpec> specs,
      final Shape input,
      final DataType dtype,
      final double defaultDecay,
      final double defaultEpsilon) {
    final List<LayerProblem> problems = new ArrayList<>();
    final List<FlatLayers.Entry> entries = FlatLayers.of(specs);
    final Set<String> names = new HashSet<>();
    Shape shape = input;
    Shape blockInput = null;
    Shape mainOutput = null;
    for (int i = 0; i < entries.size(); i++) {
      final FlatLayers.Entry e = entries.get(i);
      final String type = e.spec() == null ? "residual" : typeName(e.spec());
      if (!names.add(e.name())) {
        problems.add(new LayerProblem(e.index(), e.name(), type, null, DUPLICATE, e.field()));
      }
      if (e.problem() != null) {
        problems.add(new LayerProblem(e.index(), e.name(), type, null, e.problem(), e.field()));
        shape = null;
        continue;
      }
      switch (e.part()) {
        case FORK -> blockInput = shape;
        case SHORTCUT -> {
          mainOutput = shape;
          shape = blockInput;
        }
        case ADD -> {
          if (blockInput == null || mainOutput == null || shape == null) {
            shape = null;
            continue;
          }
          try {
            final ResidualJunction j = new ResidualJunction(e.block(), blockInput, dtype);
            j.shortcut(mainOutput);
            shape = j.add(shape).outputShape();
          } catch (ShapeException x) {
            problems.add(
                new LayerProblem(e.index(), e.block(), type, null, x.problem(), e.field()));
            shape = null;
          }
        }
        default -> {
          if (shape == null) {
            shape = outputRegardlessOfInput(e.spec());
            continue;
          }
          try {
            shape =
                create(e.spec(), e.name(), shape, dtype, i, defaultDecay, defaultEpsilon)
                    .outputShape();
          } catch (ShapeException x) {
            problems.add(
                new LayerProblem(e.index(), e.name(), type, shape, x.problem(), e.field()));
            shape = outputRegardlessOfInput(e.spec());
          } catch (IllegalArgumentException x) {
            // A shape with a non-positive dimension, e.g. a pool window that leaves nothing.
            problems.add(
                new LayerProblem(e.index(), e.name(), type, shape, x.getMessage(), e.field()));
            shape = outputRegardlessOfInput(e.spec());
          }
        }
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
   * The names of the layers {@link #build} creates, in model order: each spec's own name, or one
   * derived from its type and position ({@code conv1}, {@code bn2}, {@code fc1}); inside a residual
   * block {@code <block>.<inner>} and the block's junction layers ({@code <block>.fork}, {@code
   * <block>.shortcut}, {@code <block>.add}, {@code <block>.relu}). Needs no input shape.
   */
  public static List<String> layerNames(final List<LayerSpec> specs) {
    return FlatLayers.of(specs).stream().map(FlatLayers.Entry::name).toList();
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

  /**
   * A layer's name from its type and a counter per type ({@code conv1}, {@code bn2}, {@code
   * block1}).
   */
  static String derivedName(final LayerSpec spec, final Map<String, Integer> counters) {
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
    } else if (spec instanceof LayerSpec.Residual) {
      base = "block";
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
      // ModelFactory.layers flattens blocks before create is called (FlatLayers).
      throw new IllegalStateException("a residual block reaches create: " + name);
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
        b.gammaInit(),
        dtype);
  }
}
