package io.synctower.coordinator.doctor;

import java.util.List;
import java.util.Objects;

/**
 * The doctor's findings on one run.
 *
 * @param subject what was examined, e.g. "runs/quickstart-20260101-1200, checkpoint step 672"
 * @param context how it was examined, one line each (the sample, the statistic groups)
 * @param findings one per check, in check order
 */
public record Report(String subject, List<String> context, List<Finding> findings) {
  /** The exit code of {@code synctower doctor} when a finding is a PROBLEM (0 otherwise). */
  public static final int EXIT_PROBLEM = 4;

  public Report {
    Objects.requireNonNull(subject, "subject");
    context = List.copyOf(context);
    findings = List.copyOf(findings);
  }

  /** The most severe finding's severity (OK for none). */
  public Severity worst() {
    return findings.stream().map(Finding::severity).max(Enum::compareTo).orElse(Severity.OK);
  }

  public long count(final Severity severity) {
    return findings.stream().filter(f -> f.severity() == severity).count();
  }

  /** {@value #EXIT_PROBLEM} when a finding is a PROBLEM, else 0. */
  public int exitCode() {
    return worst() == Severity.PROBLEM ? EXIT_PROBLEM : 0;
  }

  /** E.g. "1 problem, 2 warnings" or "no problem, no warning". */
  public String tally() {
    return plural(count(Severity.PROBLEM), "problem")
        + ", "
        + plural(count(Severity.WARN), "warning");
  }

  private static String plural(final long n, final String word) {
    return n == 0 ? "no " + word : n + " " + word + (n == 1 ? "" : "s");
  }
}
