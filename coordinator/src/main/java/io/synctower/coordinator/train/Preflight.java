package io.synctower.coordinator.train;

import io.synctower.common.config.ConfigException;
import io.synctower.common.config.ModelFactory;
import io.synctower.common.config.RunConfig;
import io.synctower.common.data.Augmentation;
import io.synctower.common.data.Dataset;
import io.synctower.common.data.Normalization;
import io.synctower.common.data.SampleShape;
import io.synctower.common.nn.Shape;
import io.synctower.worker.assembly.TrainingData;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The checks that need the datasets as well as the configuration, run before any worker process is
 * spawned or any tower is started: the sample shape flows through every layer, the model's output
 * matches the labels, a global batch fits in the training set, and a crop padding fits the samples.
 * Every problem found is reported in one {@link ConfigException}, each naming the key, the value
 * and the fix, like the problems {@link io.synctower.common.config.ConfigLoader} reports about the
 * configuration alone.
 *
 * <p>The caller's order, in every command that trains:
 *
 * <pre>{@code
 * RunConfig config = ConfigLoader.load(file, overrides); // the config's own problems, all at once
 * TrainingData data = TrainingData.load(config, base);   // data that cannot be read
 * Preflight.check(config, data, file.toString());        // shapes, labels, batch: all at once
 * ... only now start worker processes or towers ...
 * }</pre>
 *
 * <p>Allocates no model parameters: the shapes are threaded through the layers without building the
 * model.
 */
public final class Preflight {
  private Preflight() {}

  /**
   * Throws a {@link ConfigException} listing every problem of {@link #problems}; returns normally
   * when there is none.
   *
   * @param source names the configuration in the message, e.g. its file name
   */
  public static void check(final RunConfig config, final TrainingData data, final String source) {
    final List<String> problems = problems(config, data);
    if (!problems.isEmpty()) {
      throw new ConfigException(source, problems);
    }
  }

  /**
   * {@link #check(RunConfig, TrainingData, String)} and, once everything else is right, whether
   * {@code towersInThisJvm} towers of the model fit in {@code limit} ({@link ModelMemory}).
   */
  public static void check(
      final RunConfig config,
      final TrainingData data,
      final String source,
      final int towersInThisJvm,
      final MemoryLimit limit) {
    check(config, data, source);
    memoryProblem(config, data, towersInThisJvm, limit)
        .ifPresent(
            p -> {
              throw new ConfigException(source, List.of(p));
            });
  }

  /**
   * Why {@code towers} towers of the model cannot fit in {@code limit}, with the figures and the
   * fixes; empty when they fit or the shapes do not flow (that is reported by {@link #problems}).
   */
  public static Optional<String> memoryProblem(
      final RunConfig config, final TrainingData data, final int towers, final MemoryLimit limit) {
    if (!problems(config, data).isEmpty()) {
      return Optional.empty();
    }
    final ModelMemory m = ModelMemory.of(config, data.inputShape());
    final long needed = m.bytes(towers);
    if (needed <= limit.bytes()) {
      return Optional.empty();
    }
    return Optional.of(
        "model: "
            + towers
            + " tower(s) in this process need at least "
            + ModelMemory.format(needed)
            + " of off-heap memory but at most "
            + ModelMemory.format(limit.bytes())
            + " is available ("
            + limit.source()
            + "); per tower "
            + m.parameters()
            + " parameters take "
            + ModelMemory.format(m.parameterBytes())
            + " with their gradients, "
            + m.optimizerSlots()
            + " optimizer buffer(s) and BN statistics, and the activations of "
            + m.batchPerTower()
            + " samples take "
            + ModelMemory.format(m.activationBytes())
            + "; fix: use smaller layers (units, filters), a smaller training.batchSize or"
            + " more training.accumulateSteps (micro-batches per step),"
            + " spread the towers over worker processes or hosts (launch, coordinator), or"
            + " raise the limit: SYNCTOWER_JAVA_OPTS=-Xmx16g for bin/synctower, or"
            + " -Dorg.bytedeco.javacpp.maxbytes=16g");
  }

  /** Every problem found, in layer order, then the output and the batch; empty when none. */
  public static List<String> problems(final RunConfig config, final TrainingData data) {
    Objects.requireNonNull(config, "config");
    Objects.requireNonNull(data, "data");
    final List<String> problems = new ArrayList<>();
    final Shape input = data.inputShape();
    final ModelFactory.Check shapes =
        ModelFactory.check(
            config.model().layers(),
            input,
            config.model().dtype(),
            config.bn().decay(),
            config.bn().epsilon());
    final String preset = preset(config);
    for (final ModelFactory.LayerProblem p : shapes.problems()) {
      problems.add(preset == null ? describe(p) : describeInPreset(preset, p));
    }
    if (shapes.output() != null) {
      outputMismatch(shapes.output(), data.train())
          .ifPresent(
              m ->
                  problems.add(
                      preset == null
                          ? "model.layers: " + m
                          : presetOutputMismatch(preset, shapes.output(), data.train())));
    }
    final Normalization norm = data.normalization();
    final int channels = data.train().sampleShape().channels();
    if (norm != null && norm.channels() != channels) {
      problems.add(
          "data.mean/data.std: "
              + norm.channels()
              + " value(s) each, but "
              + data.train().describe()
              + " has "
              + channels
              + " channel(s); give one mean and one std per channel ("
              + channels
              + " each)");
    }
    augmentProblem(config.data().augment(), data.train()).ifPresent(problems::add);
    final int batch = config.training().batchSize();
    final int samples = data.train().size();
    if (batch > samples) {
      problems.add(
          "training.batchSize: "
              + batch
              + " is larger than the training set ("
              + samples
              + " samples of "
              + data.train().describe()
              + "); use at most "
              + samples
              + " or a larger training set");
    }
    if (data.validation() == null) {
      final RunConfig.Training t = config.training();
      noValidation("earlyStopping", t.earlyStopping().enabled(), t.earlyStopping().monitor())
          .ifPresent(problems::add);
      noValidation(
              "reduceLrOnPlateau", t.reduceLrOnPlateau().enabled(), t.reduceLrOnPlateau().monitor())
          .ifPresent(problems::add);
    }
    return problems;
  }

  /** A rule that watches a validation metric in a run without a validation set. */
  /** A crop window must hold image pixels: padding at most min(height, width) - 1. */
  private static Optional<String> augmentProblem(final Augmentation augment, final Dataset train) {
    if (augment == null) {
      return Optional.empty();
    }
    final SampleShape shape = train.sampleShape();
    final int limit = Math.min(shape.height(), shape.width()) - 1;
    if (augment.cropPadding() <= limit) {
      return Optional.empty();
    }
    return Optional.of(
        "data.augment.crop.padding: "
            + augment.cropPadding()
            + " is too large for the "
            + shape.height()
            + "x"
            + shape.width()
            + " samples of "
            + train.describe()
            + "; use at most "
            + limit
            + " (min(height, width) - 1; 4 for 32x32 CIFAR images)");
  }

  private static Optional<String> noValidation(
      final String rule, final boolean enabled, final RunConfig.Monitor monitor) {
    if (!enabled || !monitor.needsValidation()) {
      return Optional.empty();
    }
    return Optional.of(
        "training."
            + rule
            + ".monitor: "
            + monitor.column()
            + " needs a validation set, and this run has none (data.validationSplit is 0 and"
            + " there is no data.validation); give one, or monitor "
            + monitor.column().replace("val_", "train_"));
  }

  /**
   * Whether a model with per-sample output {@code output} can be trained on {@code dataset}'s
   * labels: it must be {@code [P, K]} for P label positions of K classes, or {@code [K]} when P =
   * 1. Empty when it matches; otherwise the mismatch and the fix.
   */
  public static Optional<String> outputMismatch(final Shape output, final Dataset dataset) {
    final int p = dataset.labelPositions();
    final int k = dataset.numClasses();
    final boolean ok =
        (p == 1 && output.rank() == 1 && output.dim(0) == k)
            || (output.rank() == 2 && output.dim(0) == p && output.dim(1) == k);
    if (ok) {
      return Optional.empty();
    }
    final String fix =
        p == 1
            ? "end the model with a dense layer of " + k + " units"
            : "end the model with a dense layer of "
                + (p * k)
                + " units and reshape: ["
                + p
                + ", "
                + k
                + "]";
    return Optional.of(
        "the model outputs "
            + output
            + " per sample but "
            + dataset.describe()
            + " has "
            + p
            + " label position(s) of "
            + k
            + " classes; "
            + fix);
  }

  /** The {@code model.preset} the config names, or null for a model of listed layers. */
  private static String preset(final RunConfig config) {
    return config.resolved().get("model") instanceof Map<?, ?> model && model.get("preset") != null
        ? String.valueOf(model.get("preset"))
        : null;
  }

  /** A preset's head against the labels: the fix is {@code model.classes}, not a layer. */
  private static String presetOutputMismatch(
      final String preset, final Shape output, final Dataset dataset) {
    final int p = dataset.labelPositions();
    final int k = dataset.numClasses();
    if (p != 1) {
      return "model.preset: "
          + preset
          + " classifies one label per image, but "
          + dataset.describe()
          + " has "
          + p
          + " label positions; use model.layers ending in a dense layer of "
          + (p * k)
          + " units and reshape: ["
          + p
          + ", "
          + k
          + "]";
    }
    return "model.classes: "
        + preset
        + " outputs "
        + output
        + " per sample but "
        + dataset.describe()
        + " has "
        + k
        + " classes; set model.classes: "
        + k
        + " (or leave it out where the config tells the data's class count)";
  }

  /** A layer of a preset: named by its torchvision module name, as there is no layer list. */
  private static String describeInPreset(final String preset, final ModelFactory.LayerProblem p) {
    return "model.preset ("
        + preset
        + ") layer "
        + p.name()
        + " ("
        + p.type()
        + ")"
        + (p.input() == null ? "" : " with input " + p.input())
        + ": "
        + p.problem();
  }

  private static String describe(final ModelFactory.LayerProblem p) {
    final StringBuilder sb =
        new StringBuilder(p.field())
            .append(" (")
            .append(p.name())
            .append(", ")
            .append(p.type())
            .append(')');
    if (p.input() != null) {
      sb.append(" with input ").append(p.input());
      // The first layer of the model, or of a branch of a first block, gets the samples.
      if (p.field().replaceAll("\\[0]", "").matches("model\\.layers(\\.(layers|shortcut))?")) {
        sb.append(" (the dataset's samples)");
      }
    }
    return sb.append(": ").append(p.problem()).toString();
  }
}
