package io.synctower.common.checkpoint;

import io.synctower.common.data.NpyArray;
import io.synctower.common.data.NpyHeader;
import io.synctower.common.data.Npz;
import io.synctower.common.data.NpzArchive;
import io.synctower.common.nn.Layer;
import io.synctower.common.nn.LayerNames;
import io.synctower.common.nn.Model;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.apache.commons.text.similarity.LevenshteinDistance;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * Saves a model's tensors (parameters and BN state) to a NumPy {@code .npz} weight file and loads
 * them back, in a {@link WeightLayout}: PyTorch {@code state_dict} naming and layout, or Keras.
 *
 * <pre>{@code
 * WeightsFile.save(model, file, WeightLayout.PYTORCH);            // <layer>.weight ... as '<f4'/'<f8'
 * Model fresh = ...; fresh.initialize(otherSeed);
 * WeightsFile.load(fresh, file, WeightLayout.PYTORCH);            // strict: bit-identical buffers
 * ImportReport r = WeightsFile.load(withNewHead, file, WeightLayout.PYTORCH,
 *     new ImportOptions(false, Set.of()));                         // backbone only, head keeps init
 * }</pre>
 *
 * <p>Memory and copies: saving copies each tensor out of the model's flat buffers into a new Java
 * array and then a {@link NpyArray}; loading reads the whole file into memory, checks it against
 * the model, and only then copies each array into the tensor views, so a rejected file leaves the
 * model untouched. Nothing is kept after the call. Values pass through {@code double} on the host:
 * float32 and float64 round trips are bit-exact (NaN payloads aside), a float64 file loaded into a
 * float32 model is rounded to nearest, a float32 file into a float64 model is widened exactly.
 *
 * <p>Threads: call between steps, on the thread that owns the model; the tensors must not be in use
 * by a forward, backward or optimizer step. Stateless otherwise.
 */
public final class WeightsFile {
  private static final int MAX_HINT_DISTANCE = 8;

  private WeightsFile() {}

  /**
   * Writes every tensor of {@code model} to {@code file} (replacing it; not atomic) as an
   * uncompressed {@code .npz}, like {@code np.savez}, in the model's dtype ({@code '<f4'} for
   * FLOAT, {@code '<f8'} for DOUBLE), keys in model order, plus the layout's bookkeeping keys
   * (PyTorch's {@code <bn>.num_batches_tracked}, int64 0 after each BN layer's tensors; see {@link
   * WeightLayout#PYTORCH}), so that PyTorch's strict {@code load_state_dict} accepts the file.
   *
   * @throws IllegalArgumentException if the model's dtype is not FLOAT or DOUBLE, or a tensor has
   *     no name in {@code layout}
   * @throws io.synctower.common.data.DataException naming the file if it cannot be written
   */
  public static void save(final Model model, final Path file, final WeightLayout layout) {
    Objects.requireNonNull(file, "file");
    Npz.write(file, toArrays(model, layout), false);
  }

  /**
   * The arrays {@link #save} writes, keyed in model order: new arrays the caller owns (copies of
   * the model's values).
   */
  public static Map<String, NpyArray> toArrays(final Model model, final WeightLayout layout) {
    Objects.requireNonNull(model, "model");
    Objects.requireNonNull(layout, "layout");
    final DataType dtype = model.dataType();
    if (dtype != DataType.FLOAT && dtype != DataType.DOUBLE) {
      throw new IllegalArgumentException(
          "weight files hold FLOAT or DOUBLE models, this one is " + dtype);
    }
    final Map<String, NpyArray> arrays = new LinkedHashMap<>();
    final List<TensorMapping> mappings = layout.mappings(model);
    for (int i = 0; i < mappings.size(); i++) {
      final TensorMapping m = mappings.get(i);
      final double[] values = m.read();
      if (dtype == DataType.DOUBLE) {
        arrays.put(m.fileKey(), NpyArray.ofDoubles(values, m.fileShape()));
      } else {
        final float[] floats = new float[values.length];
        for (int j = 0; j < values.length; j++) {
          floats[j] = (float) values[j];
        }
        arrays.put(m.fileKey(), NpyArray.ofFloats(floats, m.fileShape()));
      }
      final Layer layer = m.tensor().layer();
      if (i + 1 == mappings.size() || mappings.get(i + 1).tensor().layer() != layer) {
        arrays.putAll(layout.bookkeeping(layer)); // after the layer's tensors, as PyTorch orders
      }
    }
    return arrays;
  }

  /**
   * {@link #load(Model, Path, WeightLayout, ImportOptions)} with {@link ImportOptions#DEFAULTS}.
   */
  public static ImportReport load(final Model model, final Path file, final WeightLayout layout) {
    return load(model, file, layout, ImportOptions.DEFAULTS);
  }

  /**
   * Reads {@code file} and copies its arrays into {@code model}'s tensors, converting from {@code
   * layout} to the internal layout and casting float32/float64 to the model's dtype. Keys the
   * layout ignores (PyTorch's {@code num_batches_tracked}) are skipped.
   *
   * <p>Only what is needed is read: keys come from the zip directory, the headers of the model's
   * keys are checked first, and only the arrays that will be loaded are inflated, each bounded by
   * the size of the tensor it fills (see {@link NpzArchive}); other entries are never inflated.
   *
   * @throws WeightsMismatchException listing, all at once, missing keys, unexpected keys (each with
   *     the nearest model key as a hint) and keys whose shape (or non-float dtype) does not fit,
   *     with the expected shape in the file's layout, grouped by the layers and blocks one side
   *     lacks (see {@link MismatchMessage}); the model is then unchanged
   * @throws IllegalArgumentException if an entry of {@code options.onlyLayers()} selects no layer
   *     of the model
   * @throws io.synctower.common.data.DataException naming the file (and key) if it cannot be read,
   *     or a loaded value is not finite (in the model's dtype) or a BN running variance is
   *     negative; the model is then unchanged
   */
  public static ImportReport load(
      final Model model, final Path file, final WeightLayout layout, final ImportOptions options) {
    Objects.requireNonNull(file, "file");
    try (NpzArchive archive = NpzArchive.open(file)) {
      return load(
          model,
          new ArraySource() {
            @Override
            public List<String> keys() {
              return archive.keys();
            }

            @Override
            public NpyHeader header(final String key) {
              return archive.header(key);
            }

            @Override
            public NpyArray read(final String key) {
              return archive.read(key);
            }
          },
          layout,
          options,
          file.toString());
    }
  }

  /**
   * {@link #load(Model, Path, WeightLayout, ImportOptions)} from arrays already in memory; {@code
   * source} names them in messages. Copies from the arrays; does not keep them.
   */
  public static ImportReport load(
      final Model model,
      final Map<String, NpyArray> arrays,
      final WeightLayout layout,
      final ImportOptions options,
      final String source) {
    Objects.requireNonNull(arrays, "arrays");
    return load(
        model,
        new ArraySource() {
          @Override
          public List<String> keys() {
            return new ArrayList<>(arrays.keySet());
          }

          @Override
          public NpyHeader header(final String key) {
            final NpyArray a = arrays.get(key);
            return new NpyHeader(a.dtype(), a.shape(), 0);
          }

          @Override
          public NpyArray read(final String key) {
            return arrays.get(key);
          }
        },
        layout,
        options,
        source);
  }

  /** Where an import's arrays come from: keys and headers first, data only for loaded keys. */
  private interface ArraySource {
    List<String> keys();

    NpyHeader header(String key);

    NpyArray read(String key);
  }

  private static ImportReport load(
      final Model model,
      final ArraySource arrays,
      final WeightLayout layout,
      final ImportOptions options,
      final String source) {
    Objects.requireNonNull(model, "model");
    Objects.requireNonNull(layout, "layout");
    Objects.requireNonNull(options, "options");
    requireLayers(model, options.onlyLayers());

    final Map<String, TensorMapping> expected = new LinkedHashMap<>();
    for (final TensorMapping m : layout.mappings(model)) {
      expected.put(m.fileKey(), m);
    }
    final Set<String> bookkeeping = new HashSet<>();
    for (final Layer layer : model.layers()) {
      bookkeeping.addAll(layout.bookkeeping(layer).keySet());
    }
    final List<String> keys = arrays.keys();
    final List<String> ignored = new ArrayList<>();
    final List<String> skipped = new ArrayList<>();
    final List<String> unexpected = new ArrayList<>();
    final List<String> misshaped = new ArrayList<>();
    final List<String> misshapedDetails = new ArrayList<>();
    for (final String key : keys) {
      final TensorMapping m = expected.get(key);
      if (!options.selects(LayerNames.layerOf(key))) {
        skipped.add(key);
      } else if (bookkeeping.contains(key)) {
        ignored.add(key);
      } else if (m == null) {
        unexpected.add(key);
      } else {
        // Only the header: a key whose declared shape does not fit is never inflated.
        final NpyHeader header = arrays.header(key);
        if (!header.dtype().isFloating() || !Arrays.equals(header.shape(), m.fileShape())) {
          misshaped.add(key);
          misshapedDetails.add(
              key
                  + ": file "
                  + header.dtype().descr()
                  + " "
                  + Arrays.toString(header.shape())
                  + ", expected float32 or float64 "
                  + m.describeFileShape());
        }
      }
    }
    final List<String> missing = new ArrayList<>();
    final List<TensorMapping> toLoad = new ArrayList<>();
    for (final TensorMapping m : expected.values()) {
      if (!options.selects(m.tensor().layer().name())) {
        continue;
      }
      if (!keys.contains(m.fileKey())) {
        missing.add(m.fileKey());
      } else if (!misshaped.contains(m.fileKey())) {
        toLoad.add(m);
      }
    }

    // Mis-shaped keys are always errors; missing and unexpected ones only in strict mode.
    final List<String> rejectedMissing = options.strict() ? missing : List.of();
    final List<String> rejectedUnexpected = options.strict() ? unexpected : List.of();
    if (!misshaped.isEmpty() || !rejectedMissing.isEmpty() || !rejectedUnexpected.isEmpty()) {
      throw new WeightsMismatchException(
          message(
              source,
              layout,
              options,
              rejectedMissing,
              rejectedUnexpected,
              misshapedDetails,
              model,
              keys,
              expected.keySet()),
          rejectedMissing,
          rejectedUnexpected,
          misshaped);
    }

    // Everything is read and checked before the first tensor is written, so a rejected file
    // leaves the model untouched.
    final Map<TensorMapping, double[]> values = new LinkedHashMap<>();
    for (final TensorMapping m : toLoad) {
      values.put(m, arrays.read(m.fileKey()).toDoubleArray());
    }
    ImportedValues.check(values, model.dataType(), source);
    final List<String> loaded = new ArrayList<>();
    for (final Map.Entry<TensorMapping, double[]> e : values.entrySet()) {
      e.getKey().write(e.getValue());
      loaded.add(e.getKey().fileKey());
    }
    return new ImportReport(loaded, missing, unexpected, ignored, skipped);
  }

  private static void requireLayers(final Model model, final Set<String> names) {
    final List<String> layerNames = model.layers().stream().map(Layer::name).toList();
    unknownLayers(layerNames, names)
        .ifPresent(
            problem -> {
              throw new IllegalArgumentException("ImportOptions.onlyLayers " + problem);
            });
  }

  /**
   * Why {@code names} (layer names or prefixes to load, e.g. {@code --init-layers layer1,layer2})
   * cannot all be found among a model's {@code layerNames}: the entries that select no layer (see
   * {@link LayerNames#matches}), each with the nearest name as a hint, and the model's top-level
   * names; empty when every entry selects a layer. Lets a caller check before it builds any model.
   */
  public static Optional<String> unknownLayers(
      final List<String> layerNames, final Collection<String> names) {
    final List<String> unknown = LayerNames.unmatched(names, layerNames).stream().sorted().toList();
    if (unknown.isEmpty()) {
      return Optional.empty();
    }
    final List<String> groups = LayerNames.groups(layerNames);
    final List<String> candidates = new ArrayList<>(groups);
    layerNames.stream().filter(n -> !groups.contains(n)).forEach(candidates::add);
    return Optional.of(
        "names layers the model does not have: "
            + unknown.stream()
                .map(n -> n + nearestHint(n, candidates))
                .collect(Collectors.joining(", "))
            + "; the model's "
            + (groups.size() == layerNames.size()
                ? "layers are "
                : "top-level names (each selects every layer named <name>.*) are ")
            + groups);
  }

  private static String nearestHint(final String key, final Collection<String> candidates) {
    final LevenshteinDistance distance = LevenshteinDistance.getDefaultInstance();
    String best = null;
    int bestDistance = Integer.MAX_VALUE;
    for (final String c : candidates) {
      final int d = distance.apply(key, c);
      if (d < bestDistance) {
        best = c;
        bestDistance = d;
      }
    }
    return best == null || bestDistance > MAX_HINT_DISTANCE ? "" : " (did you mean " + best + "?)";
  }

  private static String message(
      final String source,
      final WeightLayout layout,
      final ImportOptions options,
      final List<String> missing,
      final List<String> unexpected,
      final List<String> misshaped,
      final Model model,
      final List<String> fileKeys,
      final Set<String> modelKeys) {
    final String head =
        source
            + " does not fit the model in the "
            + layout
            + " layout ("
            + (options.strict() ? "strict" : "non-strict")
            + (options.onlyLayers().isEmpty()
                ? ""
                : ", layers " + new TreeSet<>(options.onlyLayers()))
            + "):";
    final List<String> fileLayers = fileKeys.stream().map(LayerNames::layerOf).distinct().toList();
    final List<String> modelLayers = model.layers().stream().map(Layer::name).toList();
    final StringBuilder b =
        new StringBuilder(
            MismatchMessage.build(
                head,
                missing,
                unexpected,
                misshaped,
                modelLayers,
                fileLayers,
                key -> nearestHint(key, modelKeys)));
    if (!missing.isEmpty() || !unexpected.isEmpty()) {
      b.append("\nfix: rename the layers or the keys; or import with --init-partial")
          .append(" (ImportOptions strict=false) to keep missing tensors at their initial values")
          .append(" and skip unexpected keys, or with --init-layers (ImportOptions onlyLayers)")
          .append(" to load only some layers or name prefixes (layer1,layer2)");
    }
    return b.toString();
  }
}
