package io.synctower.coordinator.train;

import io.synctower.common.config.ConfigException;
import io.synctower.common.config.RunConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;

/**
 * Whether a config may continue a checkpointed run. The model, the data, the seed and the global
 * batch define what the checkpoint's numbers mean: a difference there is an error naming the key
 * and both values. Everything else (epochs, steps, towers, learning rate, checkpoint and failure
 * settings) may change on resume and is listed so the log shows it.
 */
public final class ResumeCompatibility {
  private static final List<String> FIXED = List.of("model", "data", "seed", "training.batchSize");

  private ResumeCompatibility() {}

  /**
   * The keys whose values differ between the checkpoint's config and {@code current}, as {@code
   * "key: saved -> current"} lines.
   *
   * @throws ConfigException naming every fixed key that differs, with both values and the fix
   */
  public static List<String> check(final RunConfig saved, final RunConfig current) {
    final List<String> differences = new ArrayList<>();
    diff("", saved.resolved(), current.resolved(), differences);
    final List<String> fatal = new ArrayList<>();
    final List<String> changed = new ArrayList<>();
    for (final String d : differences) {
      final String key = d.substring(0, d.indexOf(':'));
      if (FIXED.stream()
          .anyMatch(f -> key.equals(f) || key.startsWith(f + ".") || key.startsWith(f + "["))) {
        fatal.add(
            d
                + " (the checkpoint was written with the first value; resume with the run's own"
                + " config: omit --config, or start a new run)");
      } else {
        changed.add(d);
      }
    }
    if (!fatal.isEmpty()) {
      throw new ConfigException("--resume", fatal);
    }
    return changed;
  }

  private static void diff(
      final String path, final Object a, final Object b, final List<String> out) {
    if (a instanceof Map<?, ?> ma && b instanceof Map<?, ?> mb) {
      final Set<String> keys = new TreeSet<>();
      ma.keySet().forEach(k -> keys.add(String.valueOf(k)));
      mb.keySet().forEach(k -> keys.add(String.valueOf(k)));
      for (final String k : keys) {
        diff(path.isEmpty() ? k : path + "." + k, ma.get(k), mb.get(k), out);
      }
    } else if (a instanceof List<?> la && b instanceof List<?> lb && la.size() == lb.size()) {
      for (int i = 0; i < la.size(); i++) {
        diff(path + "[" + i + "]", la.get(i), lb.get(i), out);
      }
    } else if (!Objects.equals(normalize(a), normalize(b))) {
      out.add(path + ": " + a + " -> " + b);
    }
  }

  /** YAML reads 1 as an Integer and 1.0 as a Double; compare numbers by value. */
  private static Object normalize(final Object v) {
    return v instanceof Number n ? n.doubleValue() : v;
  }
}
