package io.synctower.common.config;

import io.synctower.common.nn.LayerSpec;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The flat layer list a spec list becomes, with every layer's name, before shapes are known: a
 * residual block {@code b} becomes
 *
 * <pre>
 * b.fork, b.&lt;main layers&gt;, b.shortcut, b.&lt;shortcut layers&gt;, b.add, b.relu (if reluAfterAdd)
 * </pre>
 *
 * <p>Names: a spec's own name, or one derived from its type and a counter per type ({@code conv1},
 * {@code bn2}, {@code fc1}); unnamed blocks are {@code block1}, {@code block2}, ... Inside a block
 * the counters start again for the main branch ({@code conv1}, {@code bn1}, {@code conv2}, ...),
 * and unnamed shortcut layers are {@code downsample.<index in the shortcut>}: torchvision's names
 * ({@code layer2.0.downsample.0}). A block inside a block is refused (an entry with a problem).
 */
final class FlatLayers {
  /** What an entry of the flat list is. */
  enum Part {
    /** An ordinary layer made from {@link Entry#spec()}. */
    LAYER,
    /** The junction layer that starts block {@link Entry#block()}. */
    FORK,
    /** The junction layer between the block's main and shortcut layers. */
    SHORTCUT,
    /** The junction layer that adds both branches. */
    ADD
  }

  /**
   * One layer of the flat list.
   *
   * @param name the layer's unique name ({@code <block>.<inner>} inside a block)
   * @param field its configuration field, e.g. {@code model.layers[3].shortcut[0]}
   * @param index its (or its block's) position in the top-level spec list
   * @param spec the layer's spec for {@link Part#LAYER}; null for junction layers
   * @param block the enclosing block's name; null outside blocks
   * @param problem why this entry cannot become a layer (a block in a block); null when it can
   */
  record Entry(
      String name,
      String field,
      int index,
      Part part,
      LayerSpec spec,
      String block,
      String problem) {}

  private FlatLayers() {}

  static List<Entry> of(final List<LayerSpec> specs) {
    final List<Entry> out = new ArrayList<>();
    final Map<String, Integer> counters = new HashMap<>();
    for (int i = 0; i < specs.size(); i++) {
      final LayerSpec spec = specs.get(i);
      final String name =
          spec.name() != null ? spec.name() : ModelFactory.derivedName(spec, counters);
      final String field = "model.layers[" + i + "]";
      if (spec instanceof LayerSpec.Residual r) {
        block(r, name, field, i, out);
      } else {
        out.add(new Entry(name, field, i, Part.LAYER, spec, null, null));
      }
    }
    return out;
  }

  /**
   * The full names of the layers {@link LayerSpec#leaves} lists, in that order: every layer a
   * configuration wrote, without the junction layers and the ReLU a block adds after its sum. For
   * code that changes specs by name ({@link FrozenLayers}) with {@link LayerSpec#mapLeaves}, which
   * visits the same layers in the same order.
   */
  static List<String> leafNames(final List<LayerSpec> specs) {
    final List<String> names = new ArrayList<>();
    for (final Entry e : of(specs)) {
      final boolean addedByBlock =
          e.block() != null && e.field().equals("model.layers[" + e.index() + "]");
      if (e.part() == Part.LAYER && !addedByBlock) {
        names.add(e.name());
      }
    }
    return names;
  }

  private static void block(
      final LayerSpec.Residual r,
      final String block,
      final String field,
      final int index,
      final List<Entry> out) {
    out.add(new Entry(block + ".fork", field, index, Part.FORK, null, block, null));
    final Map<String, Integer> counters = new HashMap<>();
    for (int k = 0; k < r.layers().size(); k++) {
      final LayerSpec inner = r.layers().get(k);
      final String name =
          inner.name() != null ? inner.name() : ModelFactory.derivedName(inner, counters);
      out.add(inner(inner, block, name, field + ".layers[" + k + "]", index));
    }
    out.add(new Entry(block + ".shortcut", field, index, Part.SHORTCUT, null, block, null));
    for (int k = 0; k < r.shortcut().size(); k++) {
      final LayerSpec inner = r.shortcut().get(k);
      final String name = inner.name() != null ? inner.name() : "downsample." + k;
      out.add(inner(inner, block, name, field + ".shortcut[" + k + "]", index));
    }
    out.add(new Entry(block + ".add", field, index, Part.ADD, null, block, null));
    if (r.reluAfterAdd()) {
      out.add(
          new Entry(
              block + ".relu",
              field,
              index,
              Part.LAYER,
              new LayerSpec.Relu(block + ".relu"),
              block,
              null));
    }
  }

  private static Entry inner(
      final LayerSpec spec,
      final String block,
      final String name,
      final String field,
      final int index) {
    final String full = block + "." + name;
    if (spec instanceof LayerSpec.Residual) {
      return new Entry(
          full,
          field,
          index,
          Part.LAYER,
          spec,
          block,
          "a residual block inside a residual block is not supported; put the blocks one after"
              + " another in model.layers");
    }
    return new Entry(full, field, index, Part.LAYER, spec, block, null);
  }
}
