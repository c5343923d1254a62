package io.synctower.common.checkpoint;

import io.synctower.common.bn.BatchNorm;
import io.synctower.common.data.NpyArray;
import io.synctower.common.nn.Conv2D;
import io.synctower.common.nn.Dense;
import io.synctower.common.nn.Dropout;
import io.synctower.common.nn.Flatten;
import io.synctower.common.nn.Layer;
import io.synctower.common.nn.Model;
import io.synctower.common.nn.Relu;
import io.synctower.common.nn.Shape;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The naming and axis conventions of a weight file. Internally SyncTower keeps conv weights {@code
 * [kH, kW, in, out]} (NHWC compute), dense weights {@code [out, in]} with inputs flattened in (C,
 * H, W) order, and BN {@code weight}, {@code bias}, {@code running_mean}, {@code running_var}.
 */
public enum WeightLayout {
  /**
   * A PyTorch {@code state_dict} saved with NumPy, e.g. {@code np.savez(f, **{k: v.numpy() for k, v
   * in model.state_dict().items()})}, with our layer names as module names.
   *
   * <ul>
   *   <li>{@code <layer>.weight}, {@code <layer>.bias} for conv and dense; {@code <layer>.weight}
   *       (gamma), {@code <layer>.bias} (beta), {@code <layer>.running_mean}, {@code
   *       <layer>.running_var} for BN.
   *   <li>Conv weight {@code [out, in, kH, kW]}: internal {@code [kH, kW, in, out]} permuted by
   *       {@code (3, 2, 0, 1)}. Dense weight {@code [out, in]} as is: our flatten uses PyTorch's
   *       (C, H, W) order, so no row permutation is needed.
   *   <li>Layer names are PyTorch module paths and may hold dots ({@code layer1.0.conv1}, {@code
   *       layer2.0.downsample.0}); the tensor name is the part after the last dot, so torchvision's
   *       {@code state_dict} keys load unchanged into layers of those names.
   *   <li>{@code <bn>.num_batches_tracked} (an int64 0-d array in every PyTorch BN state_dict) is
   *       bookkeeping, not model state: SyncTower's BN updates its moving statistics with a fixed
   *       {@code decay} (PyTorch's {@code momentum}), never with the cumulative average that
   *       counter drives ({@code momentum=None}). On import it is accepted whatever its value and
   *       listed in {@link ImportReport#ignored()}; export writes 0, the value of a freshly built
   *       torchvision model and of torchvision's published weights, so that PyTorch's strict {@code
   *       load_state_dict} accepts the file. A counter a PyTorch run advanced is therefore reset by
   *       an import and export; nothing else in the file changes.
   * </ul>
   */
  PYTORCH {
    @Override
    TensorMapping map(final Model.Tensor t, final Optional<Shape> flattenedImage) {
      if (t.layer() instanceof Conv2D && t.spec().name().equals("weight")) {
        return TensorMapping.permuted(
            t, t.key(), t.spec().shape(), new int[] {3, 2, 0, 1}, "[out, in, kH, kW]");
      }
      final String note =
          t.layer() instanceof Dense && t.spec().name().equals("weight") ? "[out, in]" : null;
      return note == null
          ? TensorMapping.identity(t, t.key())
          : TensorMapping.permuted(t, t.key(), t.spec().shape(), new int[] {0, 1}, note);
    }

    @Override
    Map<String, NpyArray> bookkeeping(final Layer layer) {
      return layer instanceof BatchNorm
          ? Map.of(layer.name() + ".num_batches_tracked", NpyArray.ofLongs(new long[] {0}))
          : Map.of();
    }
  },

  /**
   * Keras weights saved with NumPy under the keys {@code <layer>.<weight>}, where {@code <weight>}
   * is the last path element of the Keras variable name without the {@code :0} suffix, e.g.
   *
   * <pre>{@code
   * np.savez(f, **{f"{l.name}.{w.name.split('/')[-1].split(':')[0]}": w.numpy()
   *                for l in model.layers for w in l.weights})
   * }</pre>
   *
   * with our layer names as Keras layer names. That is the naming this importer expects:
   *
   * <ul>
   *   <li>Conv2D: {@code <layer>.kernel} {@code [kH, kW, in, out]} (the internal layout, copied as
   *       is) and {@code <layer>.bias}.
   *   <li>Dense: {@code <layer>.kernel} {@code [in, out]}, the transpose of the internal {@code
   *       [out, in]}, and {@code <layer>.bias}.
   *   <li>BatchNormalization: {@code gamma}, {@code beta}, {@code moving_mean}, {@code
   *       moving_variance} (our {@code weight}, {@code bias}, {@code running_mean}, {@code
   *       running_var}).
   *   <li>Caveat: Keras' {@code Flatten} of an NHWC image orders features (H, W, C), ours (C, H,
   *       W). For a Dense (and a vector BN) whose input comes from a Flatten of an image, possibly
   *       through Dropout, ReLU or vector BN layers, the kernel rows (the BN vectors) are permuted
   *       from (H, W, C) to (C, H, W) order: Keras row {@code (h*W + w)*C + c} is our input {@code
   *       (c*H + h)*W + w}.
   * </ul>
   *
   * Layers other than Conv2D, Dense and BatchNorm have no Keras name: saving or loading a model
   * with parameters in such a layer throws.
   */
  KERAS {
    @Override
    TensorMapping map(final Model.Tensor t, final Optional<Shape> flattenedImage) {
      final String param = t.spec().name();
      final String key = t.layer().name() + "." + kerasName(t);
      final long[] shape = t.spec().shape();
      if (t.layer() instanceof Dense && param.equals("weight")) {
        if (flattenedImage.isPresent()) {
          final Shape img = flattenedImage.get();
          // Internal [out, C*H*W] viewed [out, C, H, W] -> Keras [H, W, C, out] -> [H*W*C, out].
          return TensorMapping.permuted(
              t,
              key,
              new long[] {shape[0], img.channels(), img.height(), img.width()},
              new int[] {2, 3, 1, 0},
              new long[] {shape[1], shape[0]},
              "[in, out], rows in Keras' (H,W,C) flatten order of " + img);
        }
        return TensorMapping.permuted(t, key, shape, new int[] {1, 0}, "[in, out]");
      }
      if (t.layer() instanceof BatchNorm && flattenedImage.isPresent()) {
        final Shape img = flattenedImage.get();
        // Internal [C*H*W] viewed [C, H, W] -> Keras [H, W, C] -> [H*W*C].
        return TensorMapping.permuted(
            t,
            key,
            new long[] {img.channels(), img.height(), img.width()},
            new int[] {1, 2, 0},
            shape,
            "in Keras' (H,W,C) flatten order of " + img);
      }
      return TensorMapping.identity(t, key);
    }

    private String kerasName(final Model.Tensor t) {
      final String param = t.spec().name();
      final Layer layer = t.layer();
      final String name;
      if (layer instanceof Conv2D || layer instanceof Dense) {
        name = Map.of("weight", "kernel", "bias", "bias").get(param);
      } else if (layer instanceof BatchNorm) {
        name =
            Map.of(
                    "weight", "gamma",
                    "bias", "beta",
                    "running_mean", "moving_mean",
                    "running_var", "moving_variance")
                .get(param);
      } else {
        name = null;
      }
      if (name == null) {
        throw new IllegalArgumentException(
            "tensor '"
                + t.key()
                + "' of a "
                + layer.getClass().getSimpleName()
                + " layer has no Keras name; use WeightLayout.PYTORCH for this model");
      }
      return name;
    }
  };

  /** How tensor {@code t} is stored; {@code flattenedImage}: see {@link #flattenedImageBefore}. */
  abstract TensorMapping map(Model.Tensor t, Optional<Shape> flattenedImage);

  /**
   * Keys this layout stores for {@code layer} besides its tensors, with the values export writes
   * (new arrays): PyTorch's {@code num_batches_tracked} of a BN layer. Import accepts these keys
   * whatever their value and lists them in {@link ImportReport#ignored()}.
   */
  Map<String, NpyArray> bookkeeping(final Layer layer) {
    return Map.of();
  }

  /**
   * The mapping of every tensor of {@code model}, in layout order.
   *
   * @throws IllegalArgumentException if two tensors map to the same key (two layers share a name)
   *     or a tensor has no name in this layout
   */
  final List<TensorMapping> mappings(final Model model) {
    final List<Layer> layers = model.layers();
    final List<TensorMapping> out = new ArrayList<>();
    final Set<String> keys = new HashSet<>();
    int layerIndex = -1;
    Layer current = null;
    Optional<Shape> flattened = Optional.empty();
    for (final Model.Tensor t : model.tensors()) {
      if (t.layer() != current) {
        current = t.layer();
        layerIndex = layers.indexOf(current);
        flattened = flattenedImageBefore(layers, layerIndex);
      }
      final TensorMapping m = map(t, flattened);
      if (!keys.add(m.fileKey())) {
        throw new IllegalArgumentException(
            "two tensors of the model map to the key '"
                + m.fileKey()
                + "'; give every layer a unique name");
      }
      out.add(m);
    }
    return out;
  }

  /**
   * The image shape whose flattening feeds the flat input of {@code layers[index]}, looking back
   * through layers that keep the feature order (Dropout, ReLU, vector BN); empty if the input is
   * not a flattened image.
   */
  static Optional<Shape> flattenedImageBefore(final List<Layer> layers, final int index) {
    if (layers.get(index).inputShape().isImage()) {
      return Optional.empty();
    }
    for (int i = index - 1; i >= 0; i--) {
      final Layer l = layers.get(i);
      if (l instanceof Flatten) {
        return l.inputShape().isImage() ? Optional.of(l.inputShape()) : Optional.empty();
      }
      final boolean keepsOrder =
          (l instanceof Dropout || l instanceof Relu || l instanceof BatchNorm)
              && l.inputShape().equals(l.outputShape())
              && !l.inputShape().isImage();
      if (!keepsOrder) {
        return Optional.empty();
      }
    }
    return Optional.empty();
  }
}
