package io.synctower.common.config;

import io.synctower.common.data.Augmentation;
import io.synctower.common.data.CaptchaDataset;
import io.synctower.common.data.ShapesDataset;
import io.synctower.common.nn.LayerSpec;
import io.synctower.common.nn.Padding;
import io.synctower.common.nn.ParamSpec;
import io.synctower.common.optim.LinearWarmupSchedule;
import io.synctower.common.optim.OptimizerSpec;
import io.synctower.common.optim.ScheduleSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.nd4j.linalg.api.buffer.DataType;
import org.yaml.snakeyaml.DumperOptions;
import org.yaml.snakeyaml.Yaml;

/**
 * Reads a YAML run configuration strictly: unknown keys, wrong types and impossible values are all
 * reported at once (key, value, fix), and every default is written into {@link
 * RunConfig#resolved()}. The defaults are documented in the README's configuration reference.
 *
 * <p>Overrides ({@code training.epochs=3}) are applied to the parsed document before reading, so
 * they are validated exactly like the file's own values.
 */
public final class ConfigLoader {
  /** The BN decay default: moving = 0.99 moving + 0.01 batch (Keras' momentum=0.99). */
  public static final double DEFAULT_BN_DECAY = 0.99;

  /** The BN epsilon default, as in Keras (PyTorch uses 1e-5). */
  public static final double DEFAULT_BN_EPSILON = 1e-3;

  private static final String MOMENTUM_HELP =
      "SyncTower has one moving-average convention, 'decay': the weight of the OLD value"
          + " (moving = decay * moving + (1 - decay) * batch). Keras' BatchNormalization"
          + " 'momentum' means the same thing (momentum 0.99 == decay 0.99), but PyTorch's"
          + " 'momentum' is the weight of the NEW value (PyTorch momentum 0.1 == decay 0.9)."
          + " Rename the key to 'decay' with the value in this convention.";

  private ConfigLoader() {}

  /**
   * The resolved configuration as YAML: every key with the value in force, defaults filled in. This
   * is the run directory's {@code config.yaml} and what the coordinator sends worker processes;
   * {@link #parse} reads it back into the same run.
   */
  public static String toYaml(final RunConfig config) {
    final DumperOptions dump = new DumperOptions();
    dump.setDefaultFlowStyle(DumperOptions.FlowStyle.BLOCK);
    return new Yaml(dump).dump(config.resolved());
  }

  /** Loads a file; {@code overrides} maps dotted keys to YAML scalars ("3", "true", "adam"). */
  public static RunConfig load(final Path file, final Map<String, String> overrides) {
    final String text;
    try {
      text = Files.readString(file);
    } catch (NoSuchFileException e) {
      throw new ConfigException(file.toString(), List.of("file not found; check the path"));
    } catch (IOException e) {
      throw new ConfigException(file.toString(), List.of("cannot read: " + e.getMessage()));
    }
    return parse(text, file.toString(), overrides);
  }

  /** Loads a configuration from text; {@code source} names it in errors. */
  @SuppressWarnings("unchecked")
  public static RunConfig parse(
      final String text, final String source, final Map<String, String> overrides) {
    final Object document;
    try {
      document = StrictYaml.load(text);
    } catch (StrictYaml.Invalid e) {
      throw new ConfigException(source, List.of(e.getMessage()));
    }
    if (document != null && !(document instanceof Map)) {
      throw new ConfigException(source, List.of("the top level must be a mapping of sections"));
    }
    final Map<String, Object> root =
        document == null ? new LinkedHashMap<>() : (Map<String, Object>) document;
    final ConfigNode.Problems problems = new ConfigNode.Problems();
    final List<String> keyProblems = new ArrayList<>();
    StrictYaml.dropNonTextKeys(root, "", keyProblems);
    keyProblems.forEach(problems::add);
    for (final Map.Entry<String, String> o : overrides.entrySet()) {
      Overrides.apply(root, o.getKey(), o.getValue(), problems);
    }
    final ConfigNode node = ConfigNode.root(root, problems);
    final RunConfig config = read(node);
    problems.throwIfAny(source);
    return config;
  }

  /**
   * {@code base} with {@code overrides} applied, read by the same rules as a file: the same result
   * as {@code parse(toYaml(base), source, overrides)} without writing YAML text and reading it
   * back, so a run changes its typed config (fewer towers after a loss, a sweep's run) without a
   * second YAML read. See {@link RunConfig#withOverrides}.
   */
  static RunConfig revise(
      final RunConfig base, final Map<String, String> overrides, final String source) {
    final Map<String, Object> root = copyTree(base.resolved());
    final ConfigNode.Problems problems = new ConfigNode.Problems();
    for (final Map.Entry<String, String> o : overrides.entrySet()) {
      Overrides.apply(root, o.getKey(), o.getValue(), problems);
    }
    final RunConfig config = read(ConfigNode.root(root, problems));
    problems.throwIfAny(source);
    return config;
  }

  /**
   * A copy of a resolved tree whose maps and lists can be changed without touching the original.
   */
  @SuppressWarnings("unchecked")
  private static <T> T copyTree(final T node) {
    if (node instanceof Map<?, ?> map) {
      final Map<String, Object> copy = new LinkedHashMap<>();
      map.forEach((k, v) -> copy.put((String) k, copyTree(v)));
      return (T) copy;
    }
    if (node instanceof List<?> list) {
      final List<Object> copy = new ArrayList<>(list.size());
      list.forEach(v -> copy.add(copyTree(v)));
      return (T) copy;
    }
    return node;
  }

  private static RunConfig read(final ConfigNode root) {
    final String name = root.string("name", "run");
    RunNames.problem(name).ifPresent(p -> root.problem("name", p));
    final long seed = root.integer("seed", 42L, 0, Long.MAX_VALUE);
    final int towers = root.integer("towers", 1, 1, 1024);
    final ConfigNode bnNode = root.child("bn");
    final RunConfig.Bn bn = readBn(bnNode, towers);
    // The model section keeps its place in config.yaml but is read after the data, whose class
    // count a preset's head defaults to.
    final ConfigNode modelNode = root.child("model");
    final RunConfig.Data data = readData(root.child("data"));
    final RunConfig.Model model = readModel(modelNode, data.train(), bnDefaulted(bnNode));
    final RunConfig.Training training = readTraining(root.child("training"));
    final RunConfig.Checkpointing checkpoint = readCheckpoint(root.child("checkpoint"));
    final RunConfig.Failure failure = readFailure(root.child("failure"));
    final RunConfig.Logging logging = readLogging(root.child("logging"));
    final boolean doctor = root.bool("doctor", true);
    if (towers > training.batchSize() && !training.allowEmptyShards()) {
      root.problem(
          "towers",
          towers
              + " towers > training.batchSize "
              + training.batchSize()
              + " leaves "
              + (towers - training.batchSize())
              + " tower(s) without samples in every step; set training.batchSize to at least "
              + towers
              + " or towers to at most "
              + training.batchSize()
              + ", or set training.allowEmptyShards: true if that is intended");
    }
    accumulationProblem(towers, training)
        .ifPresent(p -> root.problem("training.accumulateSteps", p));
    root.finish();
    return new RunConfig(
        name,
        seed,
        towers,
        model,
        data,
        training,
        bn,
        checkpoint,
        failure,
        logging,
        doctor,
        root.resolved());
  }

  /**
   * Gradient accumulation splits every tower's shard into {@code accumulateSteps} micro-batches;
   * each must hold a sample, so the smallest shard ({@code batchSize / towers}, rounded down) must
   * be at least that large. 1 (no accumulation) is always valid, empty shards included. Rechecked
   * whenever the tower count changes ({@link RunConfig#withTowers}): fewer towers only make shards
   * larger.
   */
  private static Optional<String> accumulationProblem(
      final int towers, final RunConfig.Training training) {
    final int k = training.accumulateSteps();
    final int smallestShard = training.batchSize() / towers;
    if (k <= 1 || k <= smallestShard) {
      return Optional.empty();
    }
    return Optional.of(
        k
            + " micro-batches per step need at least "
            + k
            + " samples on every tower, but training.batchSize "
            + training.batchSize()
            + " on "
            + towers
            + " tower(s) gives shards of "
            + smallestShard
            + "; set training.accumulateSteps to at most "
            + Math.max(1, smallestShard)
            + " or training.batchSize to at least "
            + (long) k * towers);
  }

  private static RunConfig.Checkpointing readCheckpoint(final ConfigNode n) {
    final ConfigNode every = n.child("every");
    final long steps = every.integer("steps", 0L, 0, Long.MAX_VALUE);
    final double minutes = every.number("minutes", 10.0, 0, 1e6);
    every.finish();
    final int keep = n.integer("keep", 3, 1, 1_000_000);
    n.finish();
    return new RunConfig.Checkpointing(steps, minutes, keep);
  }

  private static RunConfig.Logging readLogging(final ConfigNode n) {
    final boolean tensorboard = n.bool("tensorboard", true);
    final int everySteps = n.integer("everySteps", 10, 1, Integer.MAX_VALUE);
    n.finish();
    return new RunConfig.Logging(tensorboard, everySteps);
  }

  private static RunConfig.Failure readFailure(final ConfigNode n) {
    final boolean elastic = n.bool("elastic", false);
    final int maxRestarts = n.integer("maxRestarts", 3, 0, 1_000_000);
    final RunConfig.NonFinitePolicy onNonFinite =
        RunConfig.NonFinitePolicy.valueOf(
            n.choice("onNonFinite", "stop", Set.of("stop", "skip")).toUpperCase(Locale.ROOT));
    final Duration stepDeadline =
        n.duration("stepDeadline", Duration.ofSeconds(10), Duration.ofMillis(1));
    n.finish();
    return new RunConfig.Failure(elastic, maxRestarts, onNonFinite, stepDeadline);
  }

  private static RunConfig.Bn readBn(final ConfigNode n, final int towers) {
    rejectMomentum(n);
    final double decay = n.number("decay", DEFAULT_BN_DECAY, 0, 0.999999);
    final double epsilon = n.number("epsilon", DEFAULT_BN_EPSILON, 1e-12, 1);
    final boolean sync = n.bool("sync", false);
    final int group = n.integer("syncGroupSize", 0, 0, 1024);
    final int ghost = n.integer("ghostBatch", 0, 0, 1 << 20);
    final int precise = n.integer("preciseBatches", 0, 0, 1_000_000);
    if (group > 0 && !sync) {
      n.problem("syncGroupSize", "only meaningful with sync: true; set bn.sync: true or remove it");
    } else if (group > 0 && towers % group != 0) {
      n.problem(
          "syncGroupSize",
          group
              + " does not divide towers="
              + towers
              + "; use a divisor of the tower count or 0 (all towers)");
    }
    if (ghost > 0 && sync) {
      n.problem(
          "ghostBatch", "ghost BN and SyncBN exclude each other; set ghostBatch: 0 or sync: false");
    }
    final Map<String, Boolean> holdsDefault = new LinkedHashMap<>();
    holdsDefault.put("decay", decay == DEFAULT_BN_DECAY);
    holdsDefault.put("epsilon", epsilon == DEFAULT_BN_EPSILON);
    recordDefaulted(n, holdsDefault);
    n.finish();
    return new RunConfig.Bn(decay, epsilon, sync, group, ghost, precise);
  }

  private static void rejectMomentum(final ConfigNode n) {
    if (n.has("momentum")) {
      n.allow("momentum");
      n.problem("momentum", MOMENTUM_HELP);
    }
  }

  private static final Set<String> LAYER_TYPES =
      Set.of(
          "conv2d",
          "dense",
          "relu",
          "maxpool2d",
          "avgpool2d",
          "globalavgpool",
          "dropout",
          "flatten",
          "reshape",
          "batchnorm",
          "residual");

  /** The settings {@code bn.defaulted} lists (written by {@link #readBn}). */
  private static List<String> bnDefaulted(final ConfigNode bn) {
    final List<String> defaulted = new ArrayList<>();
    if (bn.resolved().get("defaulted") instanceof List<?> list) {
      list.forEach(setting -> defaulted.add(String.valueOf(setting)));
    }
    return defaulted;
  }

  /**
   * @param train the training dataset (null when invalid): a preset's default class count
   * @param bnDefaulted the bn settings left to their default, which a preset sets to PyTorch's
   */
  private static RunConfig.Model readModel(
      final ConfigNode n, final DatasetSpec train, final List<String> bnDefaulted) {
    final String dtype = n.choice("dtype", "float32", Set.of("float32", "float64"));
    final boolean preset = n.has("preset");
    final List<LayerSpec> layers = new ArrayList<>(readPreset(n, train, bnDefaulted));
    final List<ConfigNode> entries = preset ? List.of() : n.children("layers");
    if (entries.isEmpty() && !preset) {
      n.problem(
          "layers",
          "the model needs at least one layer, or a preset ("
              + String.join(", ", ResNetPresets.Preset.configNames())
              + "); see configs/quickstart.yaml and configs/resnet20-cifar.yaml");
    }
    layers.addAll(readLayers(entries, false));
    if (n.has("input")) {
      n.allow("input");
      n.problem("input", "the input shape comes from the dataset; remove 'input'");
    }
    // After the layer list is complete (listed or generated), so prefixes see every layer name.
    final List<LayerSpec> withFrozen = FrozenLayers.apply(layers, n.strings("frozen"), n);
    n.finish();
    return new RunConfig.Model(
        dtype.equals("float64") ? DataType.DOUBLE : DataType.FLOAT, withFrozen);
  }

  /** The layers of a list ({@code model.layers}, or a residual block's {@code layers}). */
  private static List<LayerSpec> readLayers(
      final List<ConfigNode> entries, final boolean insideBlock) {
    final List<LayerSpec> layers = new ArrayList<>();
    for (final ConfigNode l : entries) {
      final LayerSpec spec = readLayer(l, insideBlock);
      if (spec != null) {
        layers.add(spec);
      }
      l.finish();
    }
    return layers;
  }

  /** One layer entry; null when its type is missing or unknown (reported). */
  private static LayerSpec readLayer(final ConfigNode l, final boolean insideBlock) {
    final String type = l.choice("type", null, LAYER_TYPES);
    if (type == null) {
      if (!l.has("type") || l.isEmpty("type")) { // an empty type is absent, not a wrong one
        l.problem("type", "required; one of " + LAYER_TYPES);
      }
      return null;
    }
    final String layerName = l.string("name", null);
    final boolean trainable =
        type.equals("batchnorm") || type.equals("conv2d") || type.equals("dense")
            ? l.bool("trainable", true)
            : true;
    return switch (type) {
      case "conv2d" -> {
        final int filters = l.integer("filters", 1, 1, 1 << 16);
        final int kernel = l.integer("kernel", 3, 1, 64);
        yield new LayerSpec.Conv2d(
            layerName,
            filters,
            kernel,
            l.integer("stride", 1, 1, 64),
            convPadding(l, kernel),
            l.bool("bias", true),
            init(l),
            trainable);
      }
      case "dense" ->
          new LayerSpec.Dense(
              layerName,
              l.integer("units", 1, 1, 1 << 24),
              l.bool("bias", true),
              init(l),
              trainable);
      case "relu" -> new LayerSpec.Relu(layerName);
      case "maxpool2d" -> {
        final int size = l.integer("size", 2, 1, 64);
        yield new LayerSpec.MaxPool(
            layerName, size, l.integer("stride", size, 1, 64), poolPadding(l, size));
      }
      case "avgpool2d" -> {
        final int size = l.integer("size", 2, 1, 64);
        yield new LayerSpec.AvgPool(
            layerName, size, l.integer("stride", size, 1, 64), poolPadding(l, size));
      }
      case "globalavgpool" -> new LayerSpec.GlobalAvgPool(layerName);
      case "dropout" -> new LayerSpec.Dropout(layerName, l.number("rate", 0.5, 0, 0.99));
      case "flatten" -> new LayerSpec.Flatten(layerName);
      case "residual" -> readResidual(l, layerName, insideBlock);
      case "reshape" -> {
        final List<Integer> shape = l.integers("shape");
        final boolean given = shape != null && !shape.isEmpty();
        if (!given) {
          l.problem("shape", "required, e.g. shape: [4, 62] for 4 positions of 62 classes");
        } else if (shape.stream().anyMatch(d -> d < 1)) {
          l.problem("shape", shape + " has a dimension < 1; every dimension must be >= 1");
        }
        yield new LayerSpec.Reshape(
            layerName, given && shape.stream().allMatch(d -> d >= 1) ? shape : List.of(1));
      }
      default -> {
        rejectMomentum(l);
        final Double decay = l.optionalNumber("decay", 0, 0.999999);
        final Double eps = l.optionalNumber("epsilon", 1e-12, 1);
        yield new LayerSpec.BatchNorm(
            layerName,
            decay == null ? Double.NaN : decay,
            eps == null ? Double.NaN : eps,
            trainable,
            l.choice("gammaInit", "ones", Set.of("ones", "zeros")).equals("zeros")
                ? ParamSpec.Init.ZEROS
                : ParamSpec.Init.ONES);
      }
    };
  }

  /** A residual block: {@code layers} (the main branch), {@code shortcut}, {@code reluAfterAdd}. */
  private static LayerSpec readResidual(
      final ConfigNode l, final String name, final boolean insideBlock) {
    if (insideBlock) {
      l.problem(
          "type",
          "a residual block inside a residual block is not supported; put the blocks one after"
              + " another in model.layers");
    }
    final List<ConfigNode> main = l.children("layers");
    if (main.isEmpty()) {
      l.problem(
          "layers",
          "required: the block's main branch, e.g. layers: [{type: conv2d, filters: 64, kernel:"
              + " 3, padding: 1, bias: false}, {type: batchnorm}, {type: relu}, {type: conv2d,"
              + " filters: 64, kernel: 3, padding: 1, bias: false}, {type: batchnorm}]");
    }
    final List<LayerSpec> layers = readLayers(main, true);
    // Empty or missing: the identity.
    final List<LayerSpec> shortcut = readLayers(l.children("shortcut"), true);
    return new LayerSpec.Residual(name, layers, shortcut, l.bool("reluAfterAdd", true));
  }

  /**
   * The layers of {@code model.preset} (see {@link PresetReader}); empty, after checking that no
   * preset option is given, when the model has no preset.
   */
  private static List<LayerSpec> readPreset(
      final ConfigNode n, final DatasetSpec train, final List<String> bnDefaulted) {
    if (!n.has("preset")) {
      for (final String option : List.of("classes", "width", "zeroInitResidual")) {
        if (n.has(option)) {
          n.allow(option);
          n.problem(option, "an option of 'preset'; set model.preset or remove '" + option + "'");
        }
      }
      return List.of();
    }
    if (n.has("layers")) {
      n.allow("layers");
      n.problem(
          "preset",
          "a model is either a preset or a list of layers, not both; remove 'layers' to use"
              + " the preset, or 'preset' (and its options) to use the layers");
    }
    return PresetReader.read(n, train, bnDefaulted);
  }

  /**
   * A conv2d's {@code padding}: {@code valid}, {@code same} (TensorFlow's, extra row/column at the
   * bottom/right) or an integer {@code 0..kernel-1}, PyTorch's {@code padding=p} on every side
   * ({@code 0} is {@code valid}).
   */
  private static Padding convPadding(final ConfigNode l, final int kernel) {
    final String choices =
        "use valid, same, or an integer 0.."
            + (kernel - 1)
            + " (zeros on every side, PyTorch's padding=p; kernel / 2 keeps the size at stride 1)";
    if (!l.has("padding")) {
      l.string("padding", "valid");
      return Padding.VALID;
    }
    final String given = l.string("padding", "valid");
    if (given == null) {
      return Padding.VALID; // not text or a number: reported by string()
    }
    final String text = given.trim().toLowerCase(Locale.ROOT);
    if (text.equals("valid") || text.equals("same")) {
      l.resolved().put("padding", text);
      return text.equals("same") ? Padding.SAME : Padding.VALID;
    }
    final int p;
    try {
      p = Integer.parseInt(text);
    } catch (NumberFormatException e) {
      l.problem("padding", "'" + given + "' is not valid, same or an integer; " + choices);
      return Padding.VALID;
    }
    if (p < 0 || p >= kernel) {
      l.problem("padding", p + " is out of range for kernel " + kernel + "; " + choices);
      return Padding.VALID;
    }
    l.resolved().put("padding", p);
    return p == 0 ? Padding.VALID : Padding.explicit(p);
  }

  /** A pooling layer's {@code padding}: 0 to {@code size / 2} cells on every side (PyTorch's). */
  private static int poolPadding(final ConfigNode l, final int size) {
    final int p = l.integer("padding", 0, 0, 64);
    if (p > size / 2) {
      l.problem(
          "padding",
          p
              + " is more than half the pool size "
              + size
              + "; use 0.."
              + size / 2
              + " (PyTorch's limit: a window could then hold only padding)");
      return 0;
    }
    return p;
  }

  private static ParamSpec.Init init(final ConfigNode l) {
    final String init = l.choice("init", "glorot_uniform", Set.of("glorot_uniform", "he_normal"));
    return ParamSpec.Init.valueOf(init.toUpperCase(Locale.ROOT));
  }

  private static final Set<String> DATASET_TYPES =
      Set.of("captcha", "overfit", "shapes", "idx", "npz", "images", "cifar10", "cifar100");

  private static RunConfig.Data readData(final ConfigNode n) {
    final DatasetSpec train = readDataset(n.child("train"), true);
    final DatasetSpec validation =
        n.has("validation") ? readDataset(n.child("validation"), false) : null;
    final double split = n.number("validationSplit", validation == null ? 0.1 : 0.0, 0, 0.9);
    if (validation != null && split > 0) {
      n.problem("validationSplit", "give either a validation dataset or a split, not both");
    }
    final String normalize = n.choice("normalize", "none", Set.of("none", "auto", "values"));
    final List<Double> mean = n.numbers("mean");
    final List<Double> std = n.numbers("std");
    if (normalize.equals("values") && (mean == null || std == null || mean.size() != std.size())) {
      n.problem(
          "normalize", "'values' needs 'mean' and 'std' lists of equal length (one per channel)");
    }
    if (mean != null) {
      for (int c = 0; c < mean.size(); c++) {
        if (!Float.isFinite(mean.get(c).floatValue())) {
          n.problem(
              "mean",
              "mean["
                  + c
                  + "] (channel "
                  + c
                  + ") is "
                  + mean.get(c)
                  + "; every mean must be a finite number");
        }
      }
    }
    if (std != null) {
      for (int c = 0; c < std.size(); c++) {
        final double s = std.get(c);
        // float, as the normalization applies it: 1e-50 is 0 there
        if (!(Float.isFinite((float) s) && (float) s > 0f)) {
          n.problem(
              "std",
              "std["
                  + c
                  + "] (channel "
                  + c
                  + ") is "
                  + s
                  + "; every std must be a finite number > 0 (pixels are divided by it)");
        }
      }
    }
    if (!normalize.equals("values") && (mean != null || std != null)) {
      n.problem("mean", "mean/std are used only with normalize: values");
    }
    final int prefetch = n.integer("prefetch", 2, 2, 16);
    final Augmentation augment = readAugment(n);
    n.finish();
    return new RunConfig.Data(train, validation, split, normalize, mean, std, prefetch, augment);
  }

  /**
   * {@code data.augment: {crop: {padding: 4}, flip: true}}, or null when absent (then nothing is
   * written to the resolved tree, so configs without it resolve as before). Whether the padding
   * fits the samples is checked once the data is loaded (a dataset's shape is not known here).
   */
  private static Augmentation readAugment(final ConfigNode data) {
    if (!data.has("augment")) {
      data.allow("augment");
      return null;
    }
    final ConfigNode a = data.child("augment");
    int padding = 0;
    if (a.has("crop")) {
      final int before = a.problems().count();
      final ConfigNode c = a.child("crop");
      if (!c.has("padding") && a.problems().count() == before) { // not after "not a mapping"
        c.problem(
            "padding",
            "required; add 'padding: <pixels>' (zeros added on each side before the random crop,"
                + " 4 in the CIFAR recipe), or remove 'crop'");
      }
      padding = c.integer("padding", 0, 0, 1 << 14);
      c.finish();
    } else {
      a.allow("crop");
    }
    // flip: false alone is allowed: it is how an override turns a flip-only augmentation off.
    final boolean flip = a.bool("flip", false);
    a.finish();
    if (!a.has("crop") && !a.has("flip")) {
      data.problem(
          "augment",
          "neither 'crop' nor 'flip' is given, so it would change nothing; add"
              + " 'crop: {padding: 4}' and/or 'flip: true', or remove 'augment'");
    }
    return new Augmentation(padding, flip);
  }

  private static DatasetSpec readDataset(final ConfigNode n, final boolean required) {
    final String type = n.choice("type", required ? "captcha" : null, DATASET_TYPES);
    if (type == null) {
      n.problem("type", "required; one of " + DATASET_TYPES);
      n.finish();
      return null;
    }
    long seed = 0;
    int size = 0;
    int height = 0;
    int width = 0;
    int channels = 0;
    int length = 0;
    CaptchaDataset.Charset charset = null;
    double noise = 0;
    String path = null;
    String labels = null;
    int classes = 0;
    String split = null;
    switch (type) {
      case "captcha" -> {
        seed = n.integer("seed", 1L, 0, Long.MAX_VALUE);
        size = n.integer("size", 20000, 1, Integer.MAX_VALUE);
        height = n.integer("height", 80, CaptchaDataset.MIN_HEIGHT, 4096);
        width = n.integer("width", 120, 10, 4096);
        length = n.integer("length", 4, 1, 16);
        charset =
            CaptchaDataset.Charset.valueOf(
                n.choice("charset", "alnum", Set.of("alnum", "digits")).toUpperCase(Locale.ROOT));
        noise = n.number("noise", 0.5, 0, 1);
        channels = 1;
      }
      case "overfit" -> {
        size = n.integer("size", 256, 1, 256);
        channels = 3;
      }
      case "shapes" -> {
        seed = n.integer("seed", 1L, 0, Long.MAX_VALUE);
        size = n.integer("size", 10000, 1, Integer.MAX_VALUE);
        height = n.integer("height", 32, ShapesDataset.MIN_SIDE, 4096);
        width = n.integer("width", 32, ShapesDataset.MIN_SIDE, 4096);
        channels = n.integer("channels", 3, 1, 3);
        if (channels == 2) {
          n.problem("channels", "2 is not an image format; use 3 (RGB) or 1 (gray)");
        }
        classes = n.integer("classes", 10, 2, ShapesDataset.Kind.values().length);
        noise = n.number("noise", 0.5, 0, 1);
      }
      case "cifar10", "cifar100" -> {
        path = n.requiredString("path");
        split = n.choice("split", "train", Set.of("train", "test"));
        if (type.equals("cifar100")) {
          labels = n.choice("labels", "fine", Set.of("fine", "coarse"));
        }
        size = n.integer("size", 0, 0, Integer.MAX_VALUE);
        channels = 3;
      }
      case "idx" -> {
        path = n.requiredString("images");
        labels = n.requiredString("labels");
        classes = n.integer("classes", 10, 2, 1 << 20);
      }
      case "npz" -> {
        path = n.requiredString("path");
        classes = n.integer("classes", 0, 0, 1 << 20);
      }
      default -> { // images
        path = n.requiredString("root");
        channels = n.integer("channels", 3, 1, 3);
        height = n.integer("height", 0, 1, 1 << 14);
        width = n.integer("width", 0, 1, 1 << 14);
        if (!n.has("height") || !n.has("width")) {
          n.problem(
              "height", "image folders need height and width (all images must have that size)");
        }
      }
    }
    n.finish();
    return new DatasetSpec(
        type, seed, size, height, width, channels, length, charset, noise, path, labels, classes,
        split);
  }

  private static final Set<String> OPTIMIZERS =
      Set.of("sgd", "adam", "adamw", "rmsprop", "adadelta");

  private static RunConfig.Training readTraining(final ConfigNode n) {
    final int epochs = n.integer("epochs", 10, 1, 1_000_000);
    final long steps = n.integer("steps", 0L, 0, Long.MAX_VALUE);
    final int batch = n.integer("batchSize", 64, 1, 1 << 20);
    final int evalBatch = n.integer("evalBatchSize", batch, 1, 1 << 20);
    final OptimizerSpec optimizer = readOptimizer(n.child("optimizer"));
    final ScheduleSpec schedule = readSchedule(n.child("schedule"));
    final int reference = n.integer("referenceBatch", 0, 0, 1 << 20);
    final int replicaCheck = n.integer("replicaCheckEvery", 100, 0, Integer.MAX_VALUE);
    final boolean allowEmptyShards = n.bool("allowEmptyShards", false);
    final double clipGradNorm = n.number("clipGradNorm", 0.0, 0, Double.MAX_VALUE);
    final int accumulateSteps = n.integer("accumulateSteps", 1, 1, 1 << 20);
    final RunConfig.EarlyStopping earlyStopping = readEarlyStopping(n.child("earlyStopping"));
    final RunConfig.ReduceLrOnPlateau plateau = readPlateau(n.child("reduceLrOnPlateau"));
    n.finish();
    return new RunConfig.Training(
        epochs,
        steps,
        batch,
        evalBatch,
        optimizer,
        schedule,
        reference,
        replicaCheck,
        allowEmptyShards,
        clipGradNorm,
        accumulateSteps,
        earlyStopping,
        plateau);
  }

  private static RunConfig.EarlyStopping readEarlyStopping(final ConfigNode n) {
    final RunConfig.Monitor monitor = monitor(n);
    final int patience = n.integer("patience", 0, 0, 1_000_000);
    final double minDelta = n.number("minDelta", 0.0, 0, Double.MAX_VALUE);
    final boolean minimize = minimize(n, monitor);
    n.finish();
    return new RunConfig.EarlyStopping(monitor, patience, minDelta, minimize);
  }

  private static RunConfig.ReduceLrOnPlateau readPlateau(final ConfigNode n) {
    final RunConfig.Monitor monitor = monitor(n);
    final int patience = n.integer("patience", 0, 0, 1_000_000);
    final double factor = n.number("factor", 0.1, 0, 1);
    if (factor <= 0 || factor >= 1) {
      n.problem(
          "factor",
          factor
              + " does not lower the learning rate; it must be between 0 and 1 (exclusive), e.g."
              + " 0.1 or 0.5");
    }
    final double minDelta = n.number("minDelta", 0.0, 0, Double.MAX_VALUE);
    final int cooldown = n.integer("cooldown", 0, 0, 1_000_000);
    final double minLr = n.number("minLr", 0.0, 0, 1e6);
    final boolean minimize = minimize(n, monitor);
    n.finish();
    return new RunConfig.ReduceLrOnPlateau(
        monitor, patience, factor, minDelta, cooldown, minLr, minimize);
  }

  private static final Map<String, RunConfig.Monitor> MONITORS = monitorsByColumn();

  private static Map<String, RunConfig.Monitor> monitorsByColumn() {
    final Map<String, RunConfig.Monitor> m = new LinkedHashMap<>();
    for (final RunConfig.Monitor monitor : RunConfig.Monitor.values()) {
      m.put(monitor.column(), monitor);
    }
    return Map.copyOf(m);
  }

  /** The {@code monitor} key of an end-of-epoch rule: a metrics.csv column. */
  private static RunConfig.Monitor monitor(final ConfigNode n) {
    return MONITORS.get(n.choice("monitor", "val_loss", MONITORS.keySet()));
  }

  /** The {@code mode} key: {@code auto} minimizes a loss and maximizes an accuracy. */
  private static boolean minimize(final ConfigNode n, final RunConfig.Monitor monitor) {
    return switch (n.choice("mode", "auto", Set.of("auto", "min", "max"))) {
      case "min" -> true;
      case "max" -> false;
      default -> monitor.lowerIsBetter();
    };
  }

  private static OptimizerSpec readOptimizer(final ConfigNode n) {
    final String type = n.choice("type", "adam", OPTIMIZERS);
    final OptimizerSpec.Type t = OptimizerSpec.Type.valueOf(type.toUpperCase(Locale.ROOT));
    final OptimizerSpec.Builder b = OptimizerSpec.builder(t);
    n.allow("defaulted"); // read by recordDefaulted once the spec is built
    final Double lr = n.optionalNumber("lr", 0, 1e6);
    if (lr != null) {
      b.lr(lr);
    } else if (t == OptimizerSpec.Type.SGD && !n.has("lr")) {
      n.problem("lr", "SGD has no default learning rate; set e.g. lr: 0.1");
      b.lr(0.1); // placeholder so the rest is still checked; the problem above fails the config
    } else if (t == OptimizerSpec.Type.SGD) {
      b.lr(0.1); // placeholder: the wrong lr was reported, the config fails
    }
    final Double eps = n.optionalNumber("epsilon", 0, 1);
    if (eps != null) {
      b.epsilon(eps);
    }
    final Double wd = n.optionalNumber("weightDecay", 0, 1);
    if (wd != null) {
      b.weightDecay(wd);
    }
    switch (t) {
      case SGD -> {
        final double mu = n.number("momentum", 0.0, 0, 0.999999);
        final boolean nesterov = n.bool("nesterov", false);
        if (mu > 0) {
          b.momentum(
              nesterov ? OptimizerSpec.Momentum.NESTEROV : OptimizerSpec.Momentum.STANDARD, mu);
        } else if (nesterov) {
          n.problem("nesterov", "needs momentum > 0");
        }
      }
      case ADAM, ADAMW -> {
        final Double b1 = n.optionalNumber("beta1", 0, 0.999999);
        final Double b2 = n.optionalNumber("beta2", 0, 0.999999);
        if (b1 != null || b2 != null) {
          b.betas(b1 == null ? 0.9 : b1, b2 == null ? 0.999 : b2);
        }
      }
      case RMSPROP -> {
        final Double alpha = n.optionalNumber("alpha", 0, 0.999999);
        if (alpha != null) {
          b.alpha(alpha);
        }
      }
      case ADADELTA -> {
        final Double rho = n.optionalNumber("rho", 0, 0.999999);
        if (rho != null) {
          b.rho(rho);
        }
      }
    }
    n.finish();
    try {
      final OptimizerSpec spec = b.build();
      n.resolved().put("lr", spec.lr());
      recordDefaulted(n, optimizerHoldsDefault(spec));
      return spec;
    } catch (IllegalArgumentException e) {
      n.problem("type", e.getMessage());
      return OptimizerSpec.adam(1e-3);
    }
  }

  /**
   * Whether each setting {@code spec}'s rule uses (in the spec's order) holds its default value.
   */
  private static Map<String, Boolean> optimizerHoldsDefault(final OptimizerSpec spec) {
    final Map<String, Double> inForce = new LinkedHashMap<>();
    inForce.put(OptimizerSpec.LR, spec.lr());
    inForce.put(OptimizerSpec.MOMENTUM, spec.momentum());
    inForce.put(OptimizerSpec.BETA1, spec.beta1());
    inForce.put(OptimizerSpec.BETA2, spec.beta2());
    inForce.put(OptimizerSpec.EPSILON, spec.epsilon());
    inForce.put(OptimizerSpec.WEIGHT_DECAY, spec.weightDecay());
    inForce.put(OptimizerSpec.ALPHA, spec.alpha());
    inForce.put(OptimizerSpec.RHO, spec.rho());
    // The rule's settings in its own order: those a bare spec of the rule defaults (SGD's lr has
    // no default, so it is never "defaulted").
    final OptimizerSpec.Builder bare = OptimizerSpec.builder(spec.type());
    final OptimizerSpec rule = (spec.type() == OptimizerSpec.Type.SGD ? bare.lr(1) : bare).build();
    final Map<String, Boolean> holds = new LinkedHashMap<>();
    for (final String setting : rule.defaulted()) {
      holds.put(setting, inForce.get(setting) == OptimizerSpec.defaultValue(spec.type(), setting));
    }
    return holds;
  }

  /**
   * Writes the section's {@code defaulted} list: the settings of {@code holdsDefault} (setting ->
   * whether its value in force is the default) that the config did not give, so diagnostics can
   * point at defaults that differ between frameworks (bin/synctower doctor). A resolved config read
   * back (a resumed run, a worker process) has every value written out, so the list it carries is
   * kept for the settings that still hold their default; an override that changes one drops it.
   */
  private static void recordDefaulted(final ConfigNode n, final Map<String, Boolean> holdsDefault) {
    final List<String> carried = n.strings("defaulted");
    final List<String> defaulted = new ArrayList<>();
    for (final Map.Entry<String, Boolean> e : holdsDefault.entrySet()) {
      final String setting = e.getKey();
      if (!n.has(setting) || (carried.contains(setting) && e.getValue())) {
        defaulted.add(setting);
      }
    }
    n.resolved().put("defaulted", defaulted);
  }

  private static ScheduleSpec readSchedule(final ConfigNode n) {
    final String type = n.choice("type", "constant", Set.of("constant", "step", "cosine"));
    final ScheduleSpec.Builder b =
        ScheduleSpec.builder(ScheduleSpec.Type.valueOf(type.toUpperCase(Locale.ROOT)));
    if (type.equals("step")) {
      b.stepSize(n.integer("stepSize", 1000L, 1, Long.MAX_VALUE));
      b.gamma(n.number("gamma", 0.1, 0, 1));
    }
    if (type.equals("cosine")) {
      b.minLr(n.number("minLr", 0.0, 0, 1e6));
    }
    final long warmup = n.integer("warmupSteps", 0L, 0, Long.MAX_VALUE);
    b.warmupSteps(warmup);
    if (warmup > 0) {
      b.warmupStartFactor(n.number("warmupStartFactor", 0.0, 0, 1));
      b.warmupMode(
          LinearWarmupSchedule.Mode.valueOf(
              n.choice("warmupMode", "shifted", Set.of("shifted", "overlapped"))
                  .toUpperCase(Locale.ROOT)));
    }
    n.finish();
    try {
      return b.build();
    } catch (IllegalArgumentException e) {
      n.problem("type", e.getMessage());
      return ScheduleSpec.builder(ScheduleSpec.Type.CONSTANT).build();
    }
  }
}
