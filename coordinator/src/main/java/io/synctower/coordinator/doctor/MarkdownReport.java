package io.synctower.coordinator.doctor;

import java.util.List;

/**
 * The report as Markdown, the run directory's {@code doctor.md}: a table of the checks, then a
 * section per check with what was measured, why it matters, the fix and the numbers.
 */
public final class MarkdownReport {
  private MarkdownReport() {}

  public static String render(final Report report) {
    final StringBuilder b = new StringBuilder();
    b.append("# BN doctor\n\n");
    b.append(report.subject()).append("  \n");
    for (final String line : report.context()) {
      b.append(line).append("  \n");
    }
    b.append("\n**").append(report.tally()).append("**\n\n");
    b.append("| status | check | measured |\n|---|---|---|\n");
    for (final Finding f : report.findings()) {
      b.append("| ")
          .append(f.severity())
          .append(" | ")
          .append(cell(f.check()))
          .append(" | ")
          .append(cell(f.measured()))
          .append(" |\n");
    }
    for (final Finding f : report.findings()) {
      b.append("\n## ").append(f.check()).append(": ").append(f.severity()).append("\n\n");
      b.append(f.measured()).append("\n\n");
      if (!f.why().isEmpty()) {
        b.append("**Why it matters.** ").append(f.why()).append("\n\n");
      }
      if (!f.fix().isEmpty()) {
        b.append("**Fix.** ").append(f.fix()).append("\n\n");
      }
      table(b, f.details());
    }
    b.append(
        "\n---\nOK: nothing to do. WARN: worth a look. PROBLEM: inference will not do what"
            + " training measured; `synctower doctor` exits with 4. Thresholds and methods:"
            + " README, section \"BN doctor\".\n");
    return b.toString();
  }

  private static void table(final StringBuilder b, final Table t) {
    if (t.isEmpty()) {
      return;
    }
    row(b, t.header());
    b.append("|---".repeat(t.header().size())).append("|\n");
    for (final List<String> r : t.rows()) {
      row(b, r);
    }
  }

  private static void row(final StringBuilder b, final List<String> cells) {
    b.append('|');
    for (final String c : cells) {
      b.append(' ').append(cell(c)).append(" |");
    }
    b.append('\n');
  }

  private static String cell(final String text) {
    return text.replace("|", "\\|");
  }
}
