package io.synctower.common.config;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.commons.text.similarity.LevenshteinDistance;

/**
 * A strict, typed view of one YAML mapping.
 *
 * <p>Every getter names the full key path in its errors, records problems instead of throwing (so
 * all of them are reported together by {@link Problems#throwIfAny}), and writes the value in force
 * (given or default) into a resolved tree, which is what the run directory's {@code config.yaml}
 * shows. {@link #finish()} reports keys that nobody read, with the nearest valid key as a hint.
 */
public final class ConfigNode {
  /** The problem list shared by all nodes of one document. */
  public static final class Problems {
    private final List<String> list = new ArrayList<>();

    public void add(final String problem) {
      list.add(problem);
    }

    public boolean isEmpty() {
      return list.isEmpty();
    }

    /** How many problems were recorded so far (to skip checks that would only repeat one). */
    public int count() {
      return list.size();
    }

    public void throwIfAny(final String source) {
      if (!list.isEmpty()) {
        throw new ConfigException(source, list);
      }
    }
  }

  private final String path;
  private final Map<String, Object> values;
  private final Map<String, Object> resolved;
  private final Problems problems;
  private final List<String> known = new ArrayList<>();

  public ConfigNode(
      final String path,
      final Map<String, Object> values,
      final Map<String, Object> resolved,
      final Problems problems) {
    this.path = path;
    this.values = values == null ? Map.of() : values;
    this.resolved = resolved;
    this.problems = problems;
  }

  /** The root of a document. */
  public static ConfigNode root(final Map<String, Object> values, final Problems problems) {
    return new ConfigNode("", values, new LinkedHashMap<>(), problems);
  }

  public Map<String, Object> resolved() {
    return resolved;
  }

  public Problems problems() {
    return problems;
  }

  public String path() {
    return path;
  }

  private String key(final String name) {
    return path.isEmpty() ? name : path + "." + name;
  }

  public boolean has(final String name) {
    return values.containsKey(name);
  }

  /** Whether the key is given without a value ({@code type:} or {@code type: ~}). */
  public boolean isEmpty(final String name) {
    return values.containsKey(name) && values.get(name) == null;
  }

  /** Marks a key as valid here without reading it (handled elsewhere). */
  public void allow(final String name) {
    known.add(name);
  }

  /** Records a problem about key {@code name}. */
  public void problem(final String name, final String message) {
    problems.add(key(name) + ": " + message);
  }

  private Object raw(final String name) {
    known.add(name);
    return values.get(name);
  }

  public String string(final String name, final String fallback) {
    final Object v = raw(name);
    final String result;
    if (v == null) {
      result = fallback;
    } else if (v instanceof String text && text.indexOf('\0') >= 0) {
      problems.add(key(name) + ": " + NUL_PROBLEM);
      result = fallback;
    } else if (v instanceof String || v instanceof Number || v instanceof Boolean) {
      result = String.valueOf(v);
    } else {
      problems.add(key(name) + ": expected text, got " + describe(v));
      result = fallback;
    }
    if (result != null) {
      resolved.put(name, result);
    }
    return result;
  }

  /** Why text with a NUL byte is refused: no file name or name can hold one. */
  private static final String NUL_PROBLEM =
      "contains a NUL byte (\\0), which no file name or name can hold; remove it";

  public String requiredString(final String name) {
    final String s = string(name, null);
    if (s == null && values.get(name) == null) { // a given but wrong value is reported already
      problems.add(key(name) + ": required; add '" + name + ": <value>' under " + where());
    }
    return s;
  }

  /** One of {@code choices} (case-insensitive), returned in lower case. */
  public String choice(final String name, final String fallback, final Set<String> choices) {
    final String s = string(name, fallback);
    if (s == null) {
      return null;
    }
    final String lower = s.toLowerCase(Locale.ROOT);
    if (!choices.contains(lower)) {
      problems.add(
          key(name)
              + ": '"
              + s
              + "' is not one of "
              + new TreeSet<>(choices)
              + nearest(lower, choices));
      return fallback;
    }
    resolved.put(name, lower);
    return lower;
  }

  public long integer(final String name, final long fallback, final long min, final long max) {
    final Object v = raw(name);
    long result = fallback;
    if (v instanceof Integer || v instanceof Long) {
      result = ((Number) v).longValue();
    } else if (v != null) {
      problems.add(key(name) + ": expected an integer, got " + describe(v));
      resolved.put(name, fallback);
      return fallback;
    }
    if (result < min || result > max) {
      problems.add(
          key(name)
              + ": "
              + result
              + " is out of range; use a value in ["
              + min
              + ", "
              + (max == Long.MAX_VALUE ? "inf" : String.valueOf(max))
              + "]");
      result = fallback;
    }
    resolved.put(name, result);
    return result;
  }

  public int integer(final String name, final int fallback, final int min, final int max) {
    return (int) integer(name, (long) fallback, min, (long) max);
  }

  public double number(
      final String name, final double fallback, final double min, final double max) {
    final Object v = raw(name);
    double result = fallback;
    if (v instanceof Number n) {
      result = n.doubleValue();
    } else if (v instanceof String s) {
      try {
        result = Double.parseDouble(s.trim());
      } catch (NumberFormatException e) {
        problems.add(key(name) + ": expected a number, got '" + s + "'");
        return fallback;
      }
    } else if (v != null) {
      problems.add(key(name) + ": expected a number, got " + describe(v));
      return fallback;
    }
    if (!(result >= min && result <= max)) {
      problems.add(
          key(name)
              + ": "
              + result
              + " is out of range; use a value in ["
              + min
              + ", "
              + max
              + "]");
      result = fallback;
    }
    resolved.put(name, result);
    return result;
  }

  /**
   * Like {@link #number} but {@code null} when absent (and not written to the resolved tree), and
   * also when the value is wrong (the problem is recorded), so callers go on with their default and
   * report nothing that follows only from the wrong value.
   */
  public Double optionalNumber(final String name, final double min, final double max) {
    if (!values.containsKey(name)) {
      known.add(name);
      return null;
    }
    final double value = number(name, Double.NaN, min, max);
    // NaN is never in range, so number() returns it only after recording a problem.
    return Double.isNaN(value) ? null : value;
  }

  public boolean bool(final String name, final boolean fallback) {
    final Object v = raw(name);
    boolean result = fallback;
    if (v instanceof Boolean b) {
      result = b;
    } else if (v != null) {
      problems.add(key(name) + ": expected true or false, got " + describe(v));
    }
    resolved.put(name, result);
    return result;
  }

  /**
   * A duration written as a whole number and a unit: {@code 500ms}, {@code 10s}, {@code 2m}, {@code
   * 1h}. The resolved tree gets it in the largest unit that keeps it whole ({@code 120s} is written
   * as {@code 2m}), which this method reads back to the same value.
   */
  public Duration duration(final String name, final Duration fallback, final Duration min) {
    final Object v = raw(name);
    Duration result = fallback;
    if (v instanceof String s) {
      result = parseDuration(s.trim());
      if (result == null) {
        problems.add(key(name) + ": '" + s + "' is not a duration; " + DURATION_FORMS);
        result = fallback;
      }
    } else if (v != null) {
      problems.add(key(name) + ": expected a duration, got " + describe(v) + "; " + DURATION_FORMS);
    }
    if (result.compareTo(min) < 0) {
      problems.add(
          key(name)
              + ": "
              + formatDuration(result)
              + " is too short; use at least "
              + formatDuration(min));
      result = fallback;
    }
    resolved.put(name, formatDuration(result));
    return result;
  }

  private static final String DURATION_FORMS =
      "write a whole number and a unit: 500ms, 10s, 2m or 1h";

  private static final Pattern DURATION = Pattern.compile("(-?\\d{1,12})(ms|s|m|h)");

  /** {@code 500ms}, {@code 10s}, {@code 2m}, {@code 1h}; null for anything else. */
  static Duration parseDuration(final String text) {
    final Matcher m = DURATION.matcher(text);
    if (!m.matches()) {
      return null;
    }
    final long amount = Long.parseLong(m.group(1));
    return switch (m.group(2)) {
      case "ms" -> Duration.ofMillis(amount);
      case "s" -> Duration.ofSeconds(amount);
      case "m" -> Duration.ofMinutes(amount);
      default -> Duration.ofHours(amount);
    };
  }

  /** The inverse of {@link #parseDuration} for whole milliseconds, in the largest exact unit. */
  static String formatDuration(final Duration d) {
    final long ms = d.toMillis();
    if (ms != 0 && ms % 3_600_000 == 0) {
      return ms / 3_600_000 + "h";
    }
    if (ms != 0 && ms % 60_000 == 0) {
      return ms / 60_000 + "m";
    }
    if (ms % 1000 == 0) {
      return ms / 1000 + "s";
    }
    return ms + "ms";
  }

  public List<Integer> integers(final String name) {
    final Object v = raw(name);
    final List<Integer> out = new ArrayList<>();
    if (v == null) {
      return null;
    }
    if (!(v instanceof List<?> list)) {
      problems.add(key(name) + ": expected a list of integers like [4, 62], got " + describe(v));
      return null;
    }
    for (final Object o : list) {
      if (o instanceof Integer i) {
        out.add(i);
      } else {
        problems.add(key(name) + ": expected integers, got " + describe(o));
        return null;
      }
    }
    resolved.put(name, out);
    return out;
  }

  public List<Double> numbers(final String name) {
    final Object v = raw(name);
    if (v == null) {
      return null;
    }
    final List<Double> out = new ArrayList<>();
    if (!(v instanceof List<?> list)) {
      problems.add(key(name) + ": expected a list of numbers, got " + describe(v));
      return null;
    }
    for (final Object o : list) {
      if (o instanceof Number n) {
        out.add(n.doubleValue());
      } else {
        problems.add(key(name) + ": expected numbers, got " + describe(o));
        return null;
      }
    }
    resolved.put(name, out);
    return out;
  }

  /** A list of texts; empty when absent. */
  public List<String> strings(final String name) {
    final Object v = raw(name);
    final List<String> out = new ArrayList<>();
    if (v == null) {
      return out;
    }
    if (!(v instanceof List<?> list) || !list.stream().allMatch(o -> o instanceof String)) {
      problems.add(key(name) + ": expected a list of names like [lr, epsilon], got " + describe(v));
      return out;
    }
    if (list.stream().anyMatch(o -> ((String) o).indexOf('\0') >= 0)) {
      problems.add(key(name) + ": " + NUL_PROBLEM);
      return out;
    }
    list.forEach(o -> out.add((String) o));
    resolved.put(name, out);
    return out;
  }

  /** A nested mapping; an absent key gives an empty node (all defaults). */
  @SuppressWarnings("unchecked")
  public ConfigNode child(final String name) {
    final Object v = raw(name);
    final Map<String, Object> childResolved = new LinkedHashMap<>();
    resolved.put(name, childResolved);
    if (v != null && !(v instanceof Map)) {
      problems.add(key(name) + ": expected a mapping (key: value lines), got " + describe(v));
      return new ConfigNode(key(name), Map.of(), childResolved, problems);
    }
    return new ConfigNode(key(name), (Map<String, Object>) v, childResolved, problems);
  }

  /** A list of mappings, e.g. the model's layers. */
  @SuppressWarnings("unchecked")
  public List<ConfigNode> children(final String name) {
    final Object v = raw(name);
    final List<ConfigNode> out = new ArrayList<>();
    final List<Object> resolvedList = new ArrayList<>();
    resolved.put(name, resolvedList);
    if (v == null) {
      return out;
    }
    if (!(v instanceof List<?> list)) {
      problems.add(key(name) + ": expected a list ('- type: ...' entries), got " + describe(v));
      return out;
    }
    for (int i = 0; i < list.size(); i++) {
      final Object o = list.get(i);
      final Map<String, Object> r = new LinkedHashMap<>();
      resolvedList.add(r);
      if (o instanceof Map) {
        out.add(new ConfigNode(key(name) + "[" + i + "]", (Map<String, Object>) o, r, problems));
      } else {
        problems.add(key(name) + "[" + i + "]: expected a mapping, got " + describe(o));
      }
    }
    return out;
  }

  /** Reports every key present here that no getter asked for. Call after reading the node. */
  public void finish() {
    for (final String k : values.keySet()) {
      if (!known.contains(k)) {
        problems.add(
            key(k)
                + ": unknown key"
                + nearest(k, known)
                + (known.isEmpty() ? "" : "; valid keys here: " + known));
      }
    }
  }

  private String where() {
    return path.isEmpty() ? "the top level" : "'" + path + "'";
  }

  static String nearest(final String word, final Iterable<String> candidates) {
    final LevenshteinDistance distance = LevenshteinDistance.getDefaultInstance();
    String best = null;
    int bestDistance = Integer.MAX_VALUE;
    for (final String c : candidates) {
      final int d = distance.apply(word.toLowerCase(Locale.ROOT), c.toLowerCase(Locale.ROOT));
      if (d < bestDistance) {
        bestDistance = d;
        best = c;
      }
    }
    if (best == null || bestDistance > Math.max(2, word.length() / 2)) {
      return "";
    }
    return " (did you mean '" + best + "'?)";
  }

  private static String describe(final Object v) {
    if (v == null) {
      return "nothing (an empty entry or ~)";
    }
    if (v instanceof Map) {
      return "a mapping";
    }
    if (v instanceof List) {
      return "a list";
    }
    return "'" + v + "' (" + v.getClass().getSimpleName().toLowerCase(Locale.ROOT) + ")";
  }
}
