package io.synctower.common.config;

import java.util.List;

/**
 * A configuration that cannot run. Carries every problem found, not just the first, each naming the
 * key, the value and the fix, so one edit cycle fixes them all.
 */
public final class ConfigException extends IllegalArgumentException {
  private final List<String> problems;

  public ConfigException(final String source, final List<String> problems) {
    super(format(source, problems));
    this.problems = List.copyOf(problems);
  }

  public List<String> problems() {
    return problems;
  }

  private static String format(final String source, final List<String> problems) {
    final StringBuilder sb = new StringBuilder();
    sb.append(problems.size() == 1 ? "1 problem" : problems.size() + " problems")
        .append(" in ")
        .append(source)
        .append(':');
    for (final String p : problems) {
      sb.append("\n  - ").append(p);
    }
    return sb.toString();
  }
}
