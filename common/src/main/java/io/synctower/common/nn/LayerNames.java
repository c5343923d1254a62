package io.synctower.common.nn;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Layer names as PyTorch modules have them: dotted paths such as {@code layer1.0.conv1} or {@code
 * layer2.0.downsample.0}, and name prefixes that select a part of a model ({@code layer1} selects
 * every layer of the first ResNet stage). Used by {@code --init-layers}, {@code model.frozen} and
 * the weight files' error messages.
 *
 * <p>A prefix matches a layer whose name equals it or starts with it followed by a dot: {@code
 * layer1} matches {@code layer1} and {@code layer1.0.conv1}, never {@code layer10}. Tensor keys are
 * {@code <layer>.<tensor>} where the tensor name has no dot, so the layer is everything before the
 * last dot. Stateless.
 */
public final class LayerNames {
  private LayerNames() {}

  /** Whether {@code prefix} selects the layer {@code name} (equal, or a dotted ancestor of it). */
  public static boolean matches(final String name, final String prefix) {
    return name.equals(prefix)
        || (name.length() > prefix.length()
            && name.startsWith(prefix)
            && name.charAt(prefix.length()) == '.');
  }

  /** Whether any of {@code prefixes} selects {@code name}. */
  public static boolean matchesAny(final String name, final Collection<String> prefixes) {
    for (final String p : prefixes) {
      if (matches(name, p)) {
        return true;
      }
    }
    return false;
  }

  /** The entries of {@code prefixes} that select none of {@code layerNames}, in given order. */
  public static List<String> unmatched(
      final Collection<String> prefixes, final Collection<String> layerNames) {
    final List<String> out = new ArrayList<>();
    for (final String p : new LinkedHashSet<>(prefixes)) {
      if (layerNames.stream().noneMatch(n -> matches(n, p))) {
        out.add(p);
      }
    }
    return out;
  }

  /**
   * The top-level groups of {@code layerNames} in model order: each name up to its first dot
   * ({@code conv1, bn1, relu, maxpool, layer1, layer2, ..., fc} for a torchvision ResNet).
   */
  public static List<String> groups(final Collection<String> layerNames) {
    final Set<String> out = new LinkedHashSet<>();
    for (final String n : layerNames) {
      final int dot = n.indexOf('.');
      out.add(dot < 0 ? n : n.substring(0, dot));
    }
    return new ArrayList<>(out);
  }

  /**
   * {@code selected} written with as few entries as prefixes allow, in model order: a top-level
   * group all of whose layers are selected becomes the group's name ({@code layer1} for {@code
   * layer1.0.conv1, layer1.0.bn1, ...}); other selected layers are listed as they are. Selecting
   * the result with {@link #matches} gives back exactly {@code selected}.
   */
  public static List<String> shortest(
      final Collection<String> selected, final List<String> layerNames) {
    final List<String> out = new ArrayList<>();
    for (final String group : groups(layerNames)) {
      final List<String> members = layerNames.stream().filter(n -> matches(n, group)).toList();
      if (selected.containsAll(members)) {
        out.add(group);
      } else {
        members.stream().filter(selected::contains).forEach(out::add);
      }
    }
    return out;
  }

  /** {@code layer1.0.conv1} for the key {@code layer1.0.conv1.weight}: all before the last dot. */
  public static String layerOf(final String key) {
    final int dot = key.lastIndexOf('.');
    return dot < 0 ? key : key.substring(0, dot);
  }

  /** {@code weight} for the key {@code layer1.0.conv1.weight}: all after the last dot. */
  public static String tensorOf(final String key) {
    return key.substring(key.lastIndexOf('.') + 1);
  }
}
