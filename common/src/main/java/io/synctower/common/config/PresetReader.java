package io.synctower.common.config;

import io.synctower.common.config.ResNetPresets.Preset;
import io.synctower.common.nn.LayerSpec;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * Reads a {@code model:} section that names a preset ({@code preset}, {@code classes}, {@code
 * width}, {@code zeroInitResidual}) into the preset's layer specs, writing every value in force
 * (the defaulted class count and width included) into the resolved config, so a resumed run or a
 * worker process rebuilds the same network from {@code config.yaml}.
 */
final class PresetReader {
  private PresetReader() {}

  /**
   * @param n the {@code model:} section, which has a {@code preset} key
   * @param train the training dataset, whose class count (when the config tells it) is the default
   *     of {@code classes}; null when it is missing or invalid (a problem is recorded already)
   * @param bnDefaulted the {@code bn:} settings the config left to their default ({@code
   *     bn.defaulted}): those take PyTorch's value in a preset's BN layers
   * @return the specs, or an empty list after recording a problem
   */
  static List<LayerSpec> read(
      final ConfigNode n, final DatasetSpec train, final List<String> bnDefaulted) {
    final String name = n.string("preset", null);
    final Optional<Preset> preset = name == null ? Optional.empty() : Preset.named(name);
    if (name != null && preset.isEmpty()) {
      n.problem(
          "preset",
          "'"
              + name
              + "' is not a preset"
              + ConfigNode.nearest(name.toLowerCase(java.util.Locale.ROOT), Preset.configNames())
              + "; the presets are "
              + String.join(", ", Preset.configNames()));
    }
    preset.ifPresent(p -> n.resolved().put("preset", p.configName()));
    final int classes = classes(n, train);
    final int width = n.integer("width", preset.map(Preset::defaultWidth).orElse(1), 1, 1 << 16);
    final boolean zeroInitResidual = n.bool("zeroInitResidual", false);
    if (preset.isEmpty() || classes < 1) {
      return List.of();
    }
    return ResNetPresets.layers(
        preset.get(),
        new ResNetPresets.Options(
            classes,
            width,
            zeroInitResidual,
            bnDefaulted.contains("decay") ? ResNetPresets.PYTORCH_BN_DECAY : Double.NaN,
            bnDefaulted.contains("epsilon") ? ResNetPresets.PYTORCH_BN_EPSILON : Double.NaN));
  }

  /** {@code classes}, by default the training set's class count; 0 after a problem. */
  private static int classes(final ConfigNode n, final DatasetSpec train) {
    if (train != null && train.type().equals("captcha")) {
      n.problem(
          "preset",
          "a preset classifies one label per image, but data.train (type captcha) has "
              + train.length()
              + " labels per image; use model.layers (see configs/quickstart.yaml) or an image"
              + " dataset");
      n.allow("classes");
      return 0;
    }
    final OptionalInt known = train == null ? OptionalInt.empty() : knownClasses(train);
    if (!n.has("classes") && known.isEmpty()) {
      n.allow("classes");
      if (train != null) {
        n.problem(
            "classes",
            "required with a preset here: the class count of data.train (type "
                + train.type()
                + ") is known only once the data is read; set model.classes to it (an image"
                + " folder has one class per sub-folder)");
      }
      return 0;
    }
    return n.integer("classes", known.orElse(1), 1, 1 << 24);
  }

  /**
   * The class count of a dataset as its configuration tells it, without reading the data: empty
   * when only the data knows (an image folder's sub-folders, an {@code npz} file's labels).
   */
  static OptionalInt knownClasses(final DatasetSpec spec) {
    return switch (spec.type()) {
      case "overfit" -> OptionalInt.of(spec.size()); // one class per image
      case "cifar10" -> OptionalInt.of(10);
      case "cifar100" -> OptionalInt.of("coarse".equals(spec.labels()) ? 20 : 100);
        // idx, shapes, npz with classes > 0; images and npz without: only the data knows
      default -> spec.classes() > 0 ? OptionalInt.of(spec.classes()) : OptionalInt.empty();
    };
  }
}
