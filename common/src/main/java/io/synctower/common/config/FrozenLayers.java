package io.synctower.common.config;

import io.synctower.common.nn.LayerNames;
import io.synctower.common.nn.LayerSpec;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code model.frozen}: name prefixes whose layers do not train, e.g. {@code [conv1, bn1, layer1,
 * layer2]} for a ResNet backbone. Each entry selects the layer of that name and every layer below
 * it in the dotted name tree ({@link LayerNames#matches}: {@code layer1} selects {@code
 * layer1.0.conv1}, never {@code layer10}); the selected conv2d, dense and batchnorm layers get
 * {@code trainable: false}, exactly as if each said so itself (other layers have nothing to train).
 * Applied once the layer list is known, so it covers layers a preset generates too.
 */
final class FrozenLayers {
  private FrozenLayers() {}

  /**
   * {@code specs} with every layer {@code prefixes} select frozen; an entry that selects no layer
   * is a problem on {@code model.frozen} naming it and the model's top-level names.
   */
  static List<LayerSpec> apply(
      final List<LayerSpec> specs, final List<String> prefixes, final ConfigNode model) {
    if (prefixes.isEmpty()) {
      return specs;
    }
    final List<String> names = new ArrayList<>();
    final List<LayerSpec> out = freeze(specs, ModelFactory.layerNames(specs), "", prefixes, names);
    final List<String> unmatched = LayerNames.unmatched(prefixes, names);
    for (final String entry : unmatched) {
      model.problem(
          "frozen",
          "'"
              + entry
              + "' selects no layer (an entry selects the layer of that name and every layer"
              + " named '"
              + entry
              + ".*'); the model's top-level names are "
              + LayerNames.groups(names));
    }
    return out;
  }

  /**
   * Walks {@code specs} (named {@code names}, below {@code parent}), collecting every full name
   * into {@code seen}, and returns them with the selected layers frozen.
   */
  private static List<LayerSpec> freeze(
      final List<LayerSpec> specs,
      final List<String> names,
      final String parent,
      final List<String> prefixes,
      final List<String> seen) {
    final List<LayerSpec> out = new ArrayList<>();
    for (int i = 0; i < specs.size(); i++) {
      final String name = parent + names.get(i);
      seen.add(name);
      final boolean selected = LayerNames.matchesAny(name, prefixes);
      final LayerSpec spec = specs.get(i);
      if (spec instanceof LayerSpec.Residual r) {
        out.add(
            new LayerSpec.Residual(
                r.name(),
                freeze(
                    r.layers(),
                    ModelFactory.layerNames(r.layers()),
                    name + ".",
                    selected ? List.of(name) : prefixes,
                    seen),
                freeze(
                    r.shortcut(),
                    shortcutNames(r.shortcut()),
                    name + ".",
                    selected ? List.of(name) : prefixes,
                    seen),
                r.reluAfterAdd()));
      } else {
        out.add(selected ? frozen(spec) : spec);
      }
    }
    return out;
  }

  /**
   * The names of a residual block's shortcut layers below the block, as {@link LayerSpec.Residual}
   * defines them: a layer's own name, or {@code downsample.<index>} (torchvision's).
   */
  private static List<String> shortcutNames(final List<LayerSpec> shortcut) {
    final List<String> names = new ArrayList<>();
    for (int i = 0; i < shortcut.size(); i++) {
      final String own = shortcut.get(i).name();
      names.add(own != null ? own : "downsample." + i);
    }
    return names;
  }

  private static LayerSpec frozen(final LayerSpec spec) {
    if (spec instanceof LayerSpec.Conv2d c) {
      return new LayerSpec.Conv2d(
          c.name(), c.filters(), c.kernel(), c.stride(), c.padding(), c.bias(), c.init(), false);
    }
    if (spec instanceof LayerSpec.Dense d) {
      return new LayerSpec.Dense(d.name(), d.units(), d.bias(), d.init(), false);
    }
    if (spec instanceof LayerSpec.BatchNorm b) {
      return new LayerSpec.BatchNorm(b.name(), b.decay(), b.epsilon(), false);
    }
    return spec;
  }
}
