package io.synctower.common.config;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Applies one command-line override ({@code --set training.optimizer.lr=0.5}) to a parsed document,
 * before the document is read, so the value is validated like the file's own. The value is one YAML
 * scalar, list or mapping, read as strictly as a config file.
 */
final class Overrides {
  private Overrides() {}

  @SuppressWarnings("unchecked")
  static void apply(
      final Map<String, Object> root,
      final String dottedKey,
      final String value,
      final ConfigNode.Problems problems) {
    final String shown = "override " + dottedKey + "=" + value;
    final String[] parts = dottedKey.split("\\.", -1);
    for (final String part : parts) {
      if (part.isBlank()) {
        problems.add(
            shown
                + ": '"
                + dottedKey
                + "' is not a key; write the key path with dots between names, e.g."
                + " --set training.optimizer.lr=0.5");
        return;
      }
    }
    final Object parsed;
    try {
      parsed = StrictYaml.load(value);
    } catch (StrictYaml.Invalid e) {
      problems.add(
          shown
              + ": the value is "
              + e.getMessage()
              + "; quote text containing YAML punctuation, e.g. --set 'name=\"a[1\"'");
      return;
    }
    if (parsed == null) {
      problems.add(
          shown
              + ": no value; to use the default of "
              + dottedKey
              + ", drop this override (--set) and the key from the file, if it is there");
      return;
    }
    final List<String> keyProblems = new ArrayList<>();
    StrictYaml.dropNonTextKeys(parsed, dottedKey, keyProblems);
    for (final String p : keyProblems) {
      problems.add(shown + ": " + p);
    }
    Map<String, Object> map = root;
    for (int i = 0; i < parts.length - 1; i++) {
      final Object next = map.get(parts[i]);
      if (next == null) {
        final Map<String, Object> created = new LinkedHashMap<>();
        map.put(parts[i], created);
        map = created;
      } else if (next instanceof Map) {
        map = (Map<String, Object>) next;
      } else {
        problems.add(shown + ": '" + parts[i] + "' is not a section");
        return;
      }
    }
    map.put(parts[parts.length - 1], parsed);
  }
}
