package io.synctower.common.config;

import java.io.StringReader;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.DuplicateKeyException;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;

/**
 * Reads YAML text into plain maps, lists and scalars the way a configuration must be read: a key
 * given twice in one mapping is refused (SnakeYAML would silently keep the later value), and every
 * mapping key must be text, so {@link ConfigNode} can name it. Only SnakeYAML's safe constructor is
 * used (no arbitrary classes), with its default limits on nesting, aliases and document size.
 */
final class StrictYaml {
  private StrictYaml() {}

  /** A YAML text that cannot be a configuration; the message names the key or line and the fix. */
  static final class Invalid extends Exception {
    Invalid(final String message) {
      super(message, null, false, false);
    }
  }

  /**
   * Parses {@code text}; null for an empty document.
   *
   * @throws Invalid for malformed YAML and duplicate keys
   */
  static Object load(final String text) throws Invalid {
    final LoaderOptions options = new LoaderOptions();
    options.setAllowDuplicateKeys(false);
    try {
      return new Yaml(new SafeConstructor(options)).load(text);
    } catch (DuplicateKeyException e) {
      throw new Invalid(duplicate(text, e));
    } catch (YAMLException e) {
      throw new Invalid("not valid YAML: " + e.getMessage());
    } catch (RuntimeException | StackOverflowError e) {
      // SnakeYAML guards its own limits with YAMLException; anything else is still bad input.
      throw new Invalid("not valid YAML (" + e.getClass().getSimpleName() + ")");
    }
  }

  private static String duplicate(final String text, final DuplicateKeyException e) {
    final String problem = e.getProblem() == null ? "" : e.getProblem();
    final String prefix = "found duplicate key ";
    final String key =
        problem.startsWith(prefix) ? problem.substring(prefix.length()).trim() : problem;
    final Mark second = e.getProblemMark();
    final Mark mapping = e.getContextMark();
    final int first = mapping == null ? -1 : firstKeyLine(text, mapping.getIndex(), key);
    return "key '"
        + key
        + "' is given twice in one mapping ("
        + (first < 0 ? "" : "first at line " + first + ", ")
        + (second == null ? "twice" : "again at line " + (second.getLine() + 1))
        + ")"
        + (mapping == null ? "" : " in the mapping starting at line " + (mapping.getLine() + 1))
        + "; configs are read strictly, keep only one of them";
  }

  /**
   * The 1-based line of {@code key}'s first occurrence in the mapping that starts at character
   * {@code mappingIndex}, or -1. SnakeYAML's exception names only the second occurrence, so the
   * text is composed again (node tree only, duplicates allowed) to find the first.
   */
  private static int firstKeyLine(final String text, final int mappingIndex, final String key) {
    final LoaderOptions options = new LoaderOptions();
    options.setAllowDuplicateKeys(true);
    try {
      final Node root = new Yaml(options).compose(new StringReader(text));
      final MappingNode mapping = mappingAt(root, mappingIndex, new IdentityHashMap<>());
      if (mapping != null) {
        for (final NodeTuple entry : mapping.getValue()) {
          if (entry.getKeyNode() instanceof ScalarNode k && k.getValue().equals(key)) {
            return k.getStartMark().getLine() + 1;
          }
        }
      }
    } catch (YAMLException e) {
      // Only the line is lost; the error message still names the key and the second line.
    }
    return -1;
  }

  private static MappingNode mappingAt(
      final Node node, final int index, final IdentityHashMap<Node, Boolean> seen) {
    if (node == null || seen.put(node, true) != null) {
      return null;
    }
    if (node instanceof MappingNode m) {
      if (m.getStartMark() != null && m.getStartMark().getIndex() == index) {
        return m;
      }
      for (final NodeTuple entry : m.getValue()) {
        final MappingNode found = mappingAt(entry.getKeyNode(), index, seen);
        if (found != null) {
          return found;
        }
        final MappingNode inValue = mappingAt(entry.getValueNode(), index, seen);
        if (inValue != null) {
          return inValue;
        }
      }
    } else if (node instanceof SequenceNode s) {
      for (final Node item : s.getValue()) {
        final MappingNode found = mappingAt(item, index, seen);
        if (found != null) {
          return found;
        }
      }
    }
    return null;
  }

  /**
   * Removes every entry whose key is not text from the maps in {@code tree} (in place), recording a
   * problem naming where it was. Shared (aliased) and self-referencing containers are visited once.
   */
  static void dropNonTextKeys(final Object tree, final String where, final List<String> problems) {
    walk(tree, where, problems, new IdentityHashMap<>());
  }

  private static void walk(
      final Object node,
      final String where,
      final List<String> problems,
      final IdentityHashMap<Object, Boolean> seen) {
    if (!(node instanceof Map<?, ?> || node instanceof List<?>) || seen.put(node, true) != null) {
      return;
    }
    if (node instanceof Map<?, ?> map) {
      final List<Object> bad = new ArrayList<>();
      for (final Map.Entry<?, ?> e : map.entrySet()) {
        if (e.getKey() instanceof String key) {
          walk(e.getValue(), where.isEmpty() ? key : where + "." + key, problems, seen);
        } else {
          bad.add(e.getKey());
        }
      }
      for (final Object key : bad) {
        problems.add(
            (where.isEmpty() ? "the top level" : where)
                + ": "
                + describeKey(key)
                + " is not a name; keys must be text such as 'seed' (remove the entry, or quote"
                + " the key if it is meant as a name)");
        removeKey(map, key);
      }
    } else {
      final List<?> list = (List<?>) node;
      for (int i = 0; i < list.size(); i++) {
        walk(list.get(i), where + "[" + i + "]", problems, seen);
      }
    }
  }

  private static void removeKey(final Map<?, ?> map, final Object key) {
    // By iteration, not map.remove: a list or mapping key may have an unusable hashCode (a
    // self-referencing one loops).
    for (final Iterator<?> it = map.keySet().iterator(); it.hasNext(); ) {
      if (it.next() == key) {
        it.remove();
        return;
      }
    }
  }

  private static String describeKey(final Object key) {
    if (key == null) {
      return "the key ~ (null, or an empty key)";
    }
    if (key instanceof Map) {
      return "a mapping used as a key";
    }
    if (key instanceof List) {
      return "a list used as a key";
    }
    final String text = String.valueOf(key);
    return "the key '"
        + (text.length() > 40 ? text.substring(0, 40) + "..." : text)
        + "' ("
        + key.getClass().getSimpleName().toLowerCase(Locale.ROOT)
        + ")";
  }
}
