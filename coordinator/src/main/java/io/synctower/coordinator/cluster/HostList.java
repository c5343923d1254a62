package io.synctower.coordinator.cluster;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Slurm hostlist expressions, as in {@code SLURM_JOB_NODELIST}: {@code node01}, {@code
 * node[01-04,07]}, {@code gpu[1-3]-ib}, {@code a[1-2],b[5-6]}, {@code rack[1-2]-node[01-02]}.
 *
 * <p>The grammar: hosts separated by commas outside brackets; each host is literal text and bracket
 * groups; a group is a comma-separated list of numbers or ascending ranges {@code lo-hi}. A range
 * keeps the digit count of its lower bound, so {@code [08-10]} gives {@code 08 09 10} and {@code
 * [8-10]} gives {@code 8 9 10}. Several groups in one host expand as a cartesian product with the
 * rightmost group varying fastest, the order {@code scontrol show hostnames} prints.
 *
 * <pre>{@code
 * String coordinatorHost = HostList.first(env.get("SLURM_JOB_NODELIST")); // no expansion
 * for (String host : HostList.expand("rack[1-2]-node[01-02]")) { ... }
 * // rack1-node01, rack1-node02, rack2-node01, rack2-node02
 * }</pre>
 *
 * <p>Both methods check the whole expression first and throw {@link IllegalArgumentException} with
 * a message that quotes the expression, the position and the fix. Stateless and thread-safe.
 */
public final class HostList {
  /** The most hosts {@link #expand} returns; a larger expression is rejected, not truncated. */
  public static final int MAX_HOSTS = 1 << 20;

  /** Enough for any host number; keeps {@code lo} and {@code hi} inside a {@code long}. */
  private static final int MAX_DIGITS = 18;

  private HostList() {}

  /**
   * The first host of a hostlist expression, without expanding the rest (which is still checked).
   *
   * @throws IllegalArgumentException if the expression is malformed
   */
  public static String first(final String nodelist) {
    final List<List<Part>> hosts = parse(nodelist);
    final StringBuilder sb = new StringBuilder();
    for (final Part part : hosts.get(0)) {
      part.appendFirst(sb);
    }
    return sb.toString();
  }

  /**
   * Every host of a hostlist expression in Slurm order, duplicates kept. Allocates a new list.
   *
   * @throws IllegalArgumentException if the expression is malformed or names more than {@link
   *     #MAX_HOSTS} hosts
   */
  public static List<String> expand(final String nodelist) {
    final List<List<Part>> hosts = parse(nodelist);
    long total = 0;
    for (final List<Part> host : hosts) {
      long count = 1;
      for (final Part part : host) {
        count = Math.min(count * part.size(), MAX_HOSTS + 1L); // both factors <= 2^20 + 1
      }
      total += count;
      if (total > MAX_HOSTS) {
        throw error(nodelist, "names more than " + MAX_HOSTS + " hosts; check the ranges");
      }
    }
    final List<String> out = new ArrayList<>((int) total);
    for (final List<Part> host : hosts) {
      expandInto(host, 0, new StringBuilder(), out);
    }
    return out;
  }

  private static void expandInto(
      final List<Part> host, final int index, final StringBuilder prefix, final List<String> out) {
    if (index == host.size()) {
      out.add(prefix.toString());
      return;
    }
    final int mark = prefix.length();
    final Part part = host.get(index);
    for (long i = 0, n = part.size(); i < n; i++) {
      part.append(i, prefix);
      expandInto(host, index + 1, prefix, out);
      prefix.setLength(mark);
    }
  }

  /** One host pattern per top-level comma; never empty. */
  private static List<List<Part>> parse(final String expression) {
    Objects.requireNonNull(expression, "nodelist");
    final String expr = expression.strip();
    if (expr.isEmpty()) {
      throw error(expression, "is empty; expected e.g. node01 or node[01-04]");
    }
    final List<List<Part>> hosts = new ArrayList<>();
    List<Part> host = new ArrayList<>();
    final StringBuilder literal = new StringBuilder();
    int hostStart = 0;
    for (int i = 0; i < expr.length(); i++) {
      final char c = expr.charAt(i);
      if (c == '[') {
        final int close = expr.indexOf(']', i + 1);
        final int nested = expr.indexOf('[', i + 1);
        if (close < 0) {
          throw error(expr, "has '[' at position " + i + " without a closing ']'");
        }
        if (nested >= 0 && nested < close) {
          throw error(
              expr, "has '[' at position " + nested + " inside brackets; groups do not nest");
        }
        flush(literal, host);
        host.add(Group.parse(expr, i + 1, close));
        i = close;
      } else if (c == ']') {
        throw error(expr, "has ']' at position " + i + " without an opening '['");
      } else if (c == ',') {
        flush(literal, host);
        if (host.isEmpty()) {
          throw error(expr, "has an empty host name at position " + hostStart);
        }
        hosts.add(host);
        host = new ArrayList<>();
        hostStart = i + 1;
      } else if (isHostChar(c)) {
        literal.append(c);
      } else {
        throw error(
            expr,
            "has '"
                + c
                + "' at position "
                + i
                + "; host names use letters, digits, '-', '.' and '_', ranges go in [..]");
      }
    }
    flush(literal, host);
    if (host.isEmpty()) {
      throw error(expr, "ends with ','; remove the trailing comma");
    }
    hosts.add(host);
    return hosts;
  }

  private static void flush(final StringBuilder literal, final List<Part> host) {
    if (literal.length() > 0) {
      host.add(new Literal(literal.toString()));
      literal.setLength(0);
    }
  }

  private static boolean isHostChar(final char c) {
    return (c >= 'a' && c <= 'z')
        || (c >= 'A' && c <= 'Z')
        || (c >= '0' && c <= '9')
        || c == '-'
        || c == '.'
        || c == '_';
  }

  static IllegalArgumentException error(final String expression, final String problem) {
    return new IllegalArgumentException("hostlist \"" + expression + "\" " + problem);
  }

  /** A piece of a host pattern: {@link #size()} alternatives, appended by index. */
  private sealed interface Part permits Literal, Group {
    long size();

    void append(long index, StringBuilder sb);

    default void appendFirst(final StringBuilder sb) {
      append(0, sb);
    }
  }

  private record Literal(String text) implements Part {
    @Override
    public long size() {
      return 1;
    }

    @Override
    public void append(final long index, final StringBuilder sb) {
      sb.append(text);
    }
  }

  /** {@code [lo-hi,n,...]}: the ranges in the order written; {@code size} at most MAX_HOSTS + 1. */
  private record Group(List<Range> ranges, long size) implements Part {
    static Group parse(final String expr, final int from, final int to) {
      final String body = expr.substring(from, to);
      if (body.isEmpty()) {
        throw error(expr, "has empty brackets at position " + (from - 1));
      }
      final List<Range> ranges = new ArrayList<>();
      long size = 0;
      for (final String item : body.split(",", -1)) {
        final Range range = Range.parse(expr, item);
        ranges.add(range);
        // Saturates just past the limit: first() accepts any size, expand() rejects this one.
        size = Math.min(size + Math.min(range.hi - range.lo + 1, MAX_HOSTS + 1L), MAX_HOSTS + 1L);
      }
      return new Group(List.copyOf(ranges), size);
    }

    @Override
    public void append(final long index, final StringBuilder sb) {
      long i = index;
      for (final Range r : ranges) {
        final long n = r.hi - r.lo + 1;
        if (i < n) {
          r.append(r.lo + i, sb);
          return;
        }
        i -= n;
      }
      throw new IndexOutOfBoundsException(index);
    }
  }

  /** {@code lo-hi} or a single number; numbers are padded with zeros to {@code width} digits. */
  private record Range(long lo, long hi, int width) {
    static Range parse(final String expr, final String item) {
      if (item.isEmpty()) {
        throw error(expr, "has an empty range in brackets; remove the extra ','");
      }
      final int dash = item.indexOf('-');
      final String loText = dash < 0 ? item : item.substring(0, dash);
      final String hiText = dash < 0 ? item : item.substring(dash + 1);
      final long lo = number(expr, item, loText);
      final long hi = number(expr, item, hiText);
      if (hi < lo) {
        throw error(
            expr,
            "has the range "
                + item
                + " that runs backwards; write the smaller number first, e.g. ["
                + hiText
                + "-"
                + loText
                + "]");
      }
      return new Range(lo, hi, loText.length());
    }

    private static long number(final String expr, final String item, final String text) {
      if (text.isEmpty() || text.length() > MAX_DIGITS || !text.chars().allMatch(Range::isDigit)) {
        throw error(
            expr,
            "has \""
                + item
                + "\" in brackets; expected a number or a range like 01-04 (at most "
                + MAX_DIGITS
                + " digits)");
      }
      return Long.parseLong(text);
    }

    private static boolean isDigit(final int c) {
      return c >= '0' && c <= '9';
    }

    void append(final long n, final StringBuilder sb) {
      final String digits = Long.toString(n);
      for (int pad = width - digits.length(); pad > 0; pad--) {
        sb.append('0');
      }
      sb.append(digits);
    }
  }
}
