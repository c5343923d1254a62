package io.synctower.common.checkpoint;

import io.synctower.common.nn.LayerNames;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * The text of a {@link WeightsMismatchException}, readable even when the file is a different
 * network (a ResNet-50 file for a ResNet-18: hundreds of keys do not fit).
 *
 * <ul>
 *   <li>Keys of a layer the other side lacks altogether are grouped: under the shallowest dotted
 *       prefix the other side has nothing of ({@code layer3.2.* (15 keys)} for a whole residual
 *       block, {@code layer1.0.bn3: weight, bias, ...} for one layer); keys of a layer both sides
 *       have are listed one by one (an unexpected key with the nearest model key as a hint).
 *   <li>When the two sides' residual stages ({@code layerN.<index>...}) hold different numbers of
 *       blocks, one line compares them: the file is a network of another depth.
 *   <li>Mis-shaped keys of one layer with the same problem share a line ({@code bn1.{weight, bias,
 *       running_mean, running_var}: file <f4 [4], expected ... [6]}).
 *   <li>Each section shows at most {@link #MAX_LINES} lines and says how many more there are; the
 *       exception's lists hold every key.
 * </ul>
 */
final class MismatchMessage {
  static final int MAX_LINES = 20;

  private MismatchMessage() {}

  /**
   * @param missing model keys the file lacks, in model order
   * @param unexpected file keys the model lacks, in file order
   * @param misshaped one line per mis-shaped key: key, file dtype and shape, expected shape
   * @param modelLayers the model's layer names
   * @param fileLayers the file's layer names (each key up to its last dot)
   * @param hint the nearest-key hint for an unexpected key of a layer the model has ("" if none)
   */
  static String build(
      final String head,
      final List<String> missing,
      final List<String> unexpected,
      final List<String> misshaped,
      final List<String> modelLayers,
      final List<String> fileLayers,
      final Function<String, String> hint) {
    final StringBuilder b = new StringBuilder(head);
    depth(fileLayers, modelLayers)
        .ifPresent(d -> b.append("\n  ").append(d).append(": a network of another depth?"));
    section(
        b,
        missing.size(),
        grouped(missing, fileLayers, k -> ""),
        "missing key",
        "in the model, not in the file");
    section(
        b,
        unexpected.size(),
        grouped(unexpected, modelLayers, hint),
        "unexpected key",
        "in the file, not in the model");
    section(
        b,
        misshaped.size(),
        sameProblemPerLayer(misshaped),
        "mis-shaped key",
        "key: file dtype and shape, expected in this layout");
    return b.toString();
  }

  /** One line per key, or per group of keys under a prefix {@code otherLayers} has nothing of. */
  static List<String> grouped(
      final List<String> keys,
      final Collection<String> otherLayers,
      final Function<String, String> hint) {
    final Map<String, List<String>> groups = new LinkedHashMap<>();
    for (final String key : keys) {
      final String absent = shallowestAbsentPrefix(LayerNames.layerOf(key), otherLayers);
      groups.computeIfAbsent(absent == null ? key : absent, g -> new ArrayList<>()).add(key);
    }
    final List<String> lines = new ArrayList<>();
    for (final Map.Entry<String, List<String>> g : groups.entrySet()) {
      final String prefix = g.getKey();
      final List<String> members = g.getValue();
      if (members.size() == 1 && members.get(0).equals(prefix)) {
        lines.add(prefix + hint.apply(prefix));
      } else if (members.stream().allMatch(k -> LayerNames.layerOf(k).equals(prefix))) {
        lines.add(
            prefix + ": " + String.join(", ", members.stream().map(LayerNames::tensorOf).toList()));
      } else {
        lines.add(prefix + ".* (" + members.size() + " keys)");
      }
    }
    return lines;
  }

  /**
   * Lines {@code key: problem}, with the keys of one layer that have the same problem merged:
   * {@code bn1.{weight, bias, running_mean, running_var}: file <f4 [4], expected ... [6]}.
   */
  static List<String> sameProblemPerLayer(final List<String> lines) {
    final Map<String, List<String>> groups = new LinkedHashMap<>();
    for (final String line : lines) {
      final int colon = line.indexOf(": ");
      final String key = line.substring(0, colon);
      groups
          .computeIfAbsent(
              LayerNames.layerOf(key) + "\0" + line.substring(colon), g -> new ArrayList<>())
          .add(key);
    }
    final List<String> out = new ArrayList<>();
    groups.forEach(
        (group, keys) -> {
          final int split = group.indexOf('\0');
          out.add(
              keys.size() == 1
                  ? keys.get(0) + group.substring(split + 1)
                  : group.substring(0, split)
                      + ".{"
                      + String.join(", ", keys.stream().map(LayerNames::tensorOf).toList())
                      + "}"
                      + group.substring(split + 1));
        });
    return out;
  }

  /**
   * The first of {@code layer}'s dotted prefixes ({@code layer3}, {@code layer3.2}, ...) that
   * selects none of {@code otherLayers}; null if {@code layer} itself is among them.
   */
  private static String shallowestAbsentPrefix(
      final String layer, final Collection<String> otherLayers) {
    int dot = layer.indexOf('.');
    while (true) {
      final String prefix = dot < 0 ? layer : layer.substring(0, dot);
      if (otherLayers.stream().noneMatch(o -> LayerNames.matches(o, prefix))) {
        return prefix;
      }
      if (dot < 0) {
        return null;
      }
      dot = layer.indexOf('.', dot + 1);
    }
  }

  /**
   * "file layer1 x3, layer2 x4, ...; model layer1 x2, ..." when the blocks per stage differ; a
   * stage is a top-level name whose children are numbered ({@code layer1.0}, {@code layer1.1}).
   */
  static java.util.Optional<String> depth(
      final Collection<String> fileLayers, final Collection<String> modelLayers) {
    final Map<String, Integer> file = blocksPerStage(fileLayers);
    final Map<String, Integer> model = blocksPerStage(modelLayers);
    if (file.equals(model) || file.isEmpty() || model.isEmpty()) {
      return java.util.Optional.empty();
    }
    return java.util.Optional.of(
        "blocks per stage: file " + describe(file) + "; model " + describe(model));
  }

  private static Map<String, Integer> blocksPerStage(final Collection<String> layers) {
    final Map<String, Set<String>> blocks = new LinkedHashMap<>();
    for (final String name : layers) {
      final String[] parts = name.split("\\.", -1);
      if (parts.length >= 3
          && !parts[1].isEmpty()
          && parts[1].chars().allMatch(Character::isDigit)) {
        blocks.computeIfAbsent(parts[0], s -> new LinkedHashSet<>()).add(parts[1]);
      }
    }
    final Map<String, Integer> out = new LinkedHashMap<>();
    blocks.forEach((stage, indices) -> out.put(stage, indices.size()));
    return out;
  }

  private static String describe(final Map<String, Integer> stages) {
    final List<String> parts = new ArrayList<>();
    stages.forEach((stage, n) -> parts.add(stage + " x" + n));
    return String.join(", ", parts);
  }

  private static void section(
      final StringBuilder b,
      final int keys,
      final List<String> lines,
      final String what,
      final String meaning) {
    if (keys == 0) {
      return;
    }
    b.append("\n  ")
        .append(keys)
        .append(' ')
        .append(what)
        .append(keys == 1 ? "" : "s")
        .append(" (")
        .append(meaning)
        .append("):");
    for (int i = 0; i < Math.min(lines.size(), MAX_LINES); i++) {
      b.append("\n    ").append(lines.get(i));
    }
    if (lines.size() > MAX_LINES) {
      b.append("\n    ... and ").append(lines.size() - MAX_LINES).append(" more");
    }
  }
}
