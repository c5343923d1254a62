package io.synctower.common.config;

import io.synctower.common.nn.LayerNames;
import io.synctower.common.nn.LayerSpec;
import java.util.Iterator;
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
    final List<String> names = FlatLayers.leafNames(specs);
    final Iterator<String> name = names.iterator();
    final List<LayerSpec> out =
        LayerSpec.mapLeaves(
            specs, spec -> LayerNames.matchesAny(name.next(), prefixes) ? frozen(spec) : spec);
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

  private static LayerSpec frozen(final LayerSpec spec) {
    if (spec instanceof LayerSpec.Conv2d c) {
      return new LayerSpec.Conv2d(
          c.name(), c.filters(), c.kernel(), c.stride(), c.padding(), c.bias(), c.init(), false);
    }
    if (spec instanceof LayerSpec.Dense d) {
      return new LayerSpec.Dense(d.name(), d.units(), d.bias(), d.init(), false);
    }
    if (spec instanceof LayerSpec.BatchNorm b) {
      return new LayerSpec.BatchNorm(b.name(), b.decay(), b.epsilon(), false, b.gammaInit());
    }
    return spec;
  }
}
