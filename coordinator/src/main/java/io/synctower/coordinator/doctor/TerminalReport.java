package io.synctower.coordinator.doctor;

import java.util.ArrayList;
import java.util.List;

/**
 * The report for a terminal: one line per check (status, what was checked, the numbers), and under
 * each one that is not OK why it matters, the fix and its numbers as aligned columns. Readable at a
 * glance: scan the first column.
 */
public final class TerminalReport {
  private static final String INDENT = "                              ";
  private static final int CHECK_WIDTH = 20;

  private TerminalReport() {}

  /** The full report; {@code color}: ANSI colors on the status words. */
  public static String render(final Report report, final boolean color) {
    final StringBuilder b = new StringBuilder();
    b.append("BN doctor: ").append(report.subject()).append('\n');
    for (final String line : report.context()) {
      b.append("  ").append(line).append('\n');
    }
    b.append('\n');
    for (final Finding f : report.findings()) {
      line(b, f, color);
      if (f.severity() != Severity.OK) {
        b.append(INDENT).append("why: ").append(f.why()).append('\n');
        b.append(INDENT).append("fix: ").append(f.fix()).append('\n');
        for (final String row : columns(f.details())) {
          b.append(INDENT).append(row).append('\n');
        }
        b.append('\n');
      }
    }
    b.append(report.tally()).append('\n');
    return b.toString();
  }

  /** The short form printed after training: the status lines and the fixes, no tables. */
  public static String summary(final Report report, final boolean color) {
    final StringBuilder b = new StringBuilder();
    b.append("BN doctor: ").append(report.tally());
    b.append(" (").append(report.context().get(0)).append(")\n");
    for (final Finding f : report.findings()) {
      line(b, f, color);
      if (f.severity() != Severity.OK) {
        b.append(INDENT).append("fix: ").append(f.fix()).append('\n');
      }
    }
    return b.toString();
  }

  private static void line(final StringBuilder b, final Finding f, final boolean color) {
    b.append("  ").append(status(f.severity(), color)).append("  ");
    b.append(pad(f.check(), CHECK_WIDTH)).append("  ").append(f.measured()).append('\n');
  }

  private static String status(final Severity s, final boolean color) {
    final String word = pad(s.name(), 7);
    if (!color) {
      return word;
    }
    final String code =
        switch (s) {
          case OK -> "32";
          case WARN -> "33";
          case PROBLEM -> "1;31";
        };
    return "\u001B[" + code + "m" + word + "\u001B[0m";
  }

  /** The table as lines of left-aligned columns, two spaces apart, header first. */
  static List<String> columns(final Table table) {
    final List<String> lines = new ArrayList<>();
    if (table.isEmpty()) {
      return lines;
    }
    final int[] widths = new int[table.header().size()];
    final List<List<String>> all = new ArrayList<>();
    all.add(table.header());
    all.addAll(table.rows());
    for (final List<String> row : all) {
      for (int c = 0; c < widths.length; c++) {
        widths[c] = Math.max(widths[c], row.get(c).length());
      }
    }
    for (final List<String> row : all) {
      final StringBuilder line = new StringBuilder();
      for (int c = 0; c < widths.length; c++) {
        line.append(c == widths.length - 1 ? row.get(c) : pad(row.get(c), widths[c] + 2));
      }
      lines.add(line.toString().stripTrailing());
    }
    return lines;
  }

  private static String pad(final String s, final int width) {
    return s.length() >= width ? s : s + " ".repeat(width - s.length());
  }
}
