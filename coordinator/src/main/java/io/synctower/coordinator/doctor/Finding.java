package io.synctower.coordinator.doctor;

import java.util.Objects;

/**
 * What one check found.
 *
 * @param check what was checked, a few words ("moving statistics")
 * @param severity OK, WARN or PROBLEM
 * @param measured the numbers, in one line ("bn2: mean off by 3.1 std, variance x 9.7")
 * @param why why it matters, in a sentence or two; empty when OK
 * @param fix what to do, as a command or a config line where there is one; empty when OK
 * @param details the numbers per layer or per option; may be empty
 */
public record Finding(
    String check, Severity severity, String measured, String why, String fix, Table details) {
  public Finding {
    Objects.requireNonNull(check, "check");
    Objects.requireNonNull(severity, "severity");
    Objects.requireNonNull(measured, "measured");
    why = why == null ? "" : why;
    fix = fix == null ? "" : fix;
    details = details == null ? Table.none() : details;
  }

  /** A healthy finding: only what was measured. */
  public static Finding ok(final String check, final String measured, final Table details) {
    return new Finding(check, Severity.OK, measured, "", "", details);
  }
}
