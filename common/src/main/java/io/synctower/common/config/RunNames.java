package io.synctower.common.config;

import java.util.Optional;

/**
 * What a run's {@code name} may be: it becomes the directory {@code runs/<name>-<timestamp>}, so it
 * must be one plain directory name that stays inside {@code runs/}.
 */
final class RunNames {
  private RunNames() {}

  /** Why {@code name} cannot name a run directory, with the fix; empty when it can. */
  static Optional<String> problem(final String name) {
    if (name == null) {
      return Optional.empty();
    }
    final String shown = "'" + name.replace("\0", "\\0") + "'";
    final String fix = "; use a plain name such as 'mnist-small' (letters, digits, '-', '_', '.')";
    if (name.isBlank()) {
      return Optional.of("is empty" + fix + ", or drop the key for the default 'run'");
    }
    if (name.indexOf('/') >= 0 || name.indexOf('\\') >= 0) {
      return Optional.of(
          shown + " contains a path separator and would place the run outside runs/" + fix);
    }
    if (name.equals(".") || name.equals("..") || name.startsWith("..")) {
      return Optional.of(shown + " is a relative path, not a directory name" + fix);
    }
    for (int i = 0; i < name.length(); i++) {
      if (Character.isISOControl(name.charAt(i))) {
        return Optional.of(shown + " contains a control character" + fix);
      }
    }
    return Optional.empty();
  }
}
