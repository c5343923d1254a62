package io.synctower.coordinator.train;

import java.io.BufferedInputStream;
import java.io.BufferedWriter;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

/**
 * {@code steps.csv}: one row per optimizer step (step, epoch, batch, mean loss over the global
 * batch, learning rate, whether the update was skipped). Losses are written with Java's shortest
 * round-trip representation, so two runs can be compared bit for bit from their files.
 *
 * <p>Rows are buffered and flushed at every checkpoint and epoch end; a crash loses at most the
 * rows since, which are exactly the steps a resume repeats. Opening for a resume drops the rows at
 * and after the resumed step, so the file never holds a step twice.
 *
 * <p>Crash tolerance: a crash can cut the last row anywhere (the buffer is written out in pieces),
 * and anything may have been appended after it. Before a resume, {@link #repair} drops such a torn
 * last row (one with no end of line, or that is no row) and says so; any other line that is not the
 * header or a row with a larger step than the one before is damage a crash does not cause, and is
 * refused naming the line rather than guessed around.
 */
final class StepLog implements AutoCloseable {
  static final String FILE = "steps.csv";
  static final String HEADER = "step,epoch,batch,loss,lr,skipped";

  /** No line of ours is longer; a longer one is garbage and is not held in memory whole. */
  private static final int MAX_LINE = 512;

  private final Path file;
  private final BufferedWriter out;

  private StepLog(final Path file, final BufferedWriter out) {
    this.file = file;
    this.out = out;
  }

  /** A log that keeps the rows of steps before {@code firstStep} (all rows: none at 0). */
  static StepLog open(final Path runDir, final long firstStep) {
    final Path file = runDir.resolve(FILE);
    try {
      if (firstStep > 0 && Files.exists(file)) {
        final Scan scan = Scan.of(file, firstStep);
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
          channel.truncate(scan.cutAt());
        }
      } else {
        Files.writeString(file, "", StandardCharsets.UTF_8);
      }
      if (Files.size(file) == 0) {
        Files.writeString(file, HEADER + "\n", StandardCharsets.UTF_8);
      }
      return new StepLog(
          file, Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.APPEND));
    } catch (IOException e) {
      throw cannotWrite(file, e);
    }
  }

  /**
   * Truncates a torn last row away (see the class comment).
   *
   * @return a line for the log when a row was dropped
   * @throws RunDirectoryException naming the file and the line of damage elsewhere
   */
  static List<String> repair(final Path runDir) {
    final Path file = runDir.resolve(FILE);
    if (!Files.isRegularFile(file)) {
      return List.of();
    }
    try {
      final Scan scan = Scan.of(file, Long.MAX_VALUE);
      if (scan.torn() == null) {
        return List.of();
      }
      try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
        channel.truncate(scan.validEnd());
      }
      return List.of(
          FILE
              + ": dropped a torn last row (line "
              + scan.tornLine()
              + ", "
              + scan.torn()
              + ") that a crash or a later write left; the resumed run writes the rows from its"
              + " checkpoint's step on again");
    } catch (IOException e) {
      throw new RunDirectoryException(
          "cannot read or repair " + file + ": " + RunDirectoryException.reason(e), e);
    }
  }

  /**
   * Where the file's intact part ends, where the rows of {@code firstStep} on start, and the torn
   * last line if there is one.
   *
   * @param validEnd bytes of the header and the intact rows
   * @param cutAt where the first row with a step of at least the first step starts; {@code
   *     validEnd} if none
   * @param torn how the torn last line looks and why it is torn; null when there is none
   */
  private record Scan(long validEnd, long cutAt, String torn, long tornLine) {
    static Scan of(final Path file, final long firstStep) throws IOException {
      final Lines lines = new Lines(file, firstStep);
      try (InputStream in = new BufferedInputStream(Files.newInputStream(file))) {
        final ByteArrayOutputStream line = new ByteArrayOutputStream();
        long offset = 0;
        long lineStart = 0;
        long length = 0;
        int b;
        while ((b = in.read()) >= 0) {
          offset++;
          if (b == '\n') {
            lines.complete(lineStart, offset, text(line, length));
            line.reset();
            length = 0;
            lineStart = offset;
          } else {
            if (length < MAX_LINE) {
              line.write(b);
            }
            length++;
          }
        }
        return length > 0 ? lines.endWithTail(text(line, length)) : lines.end();
      }
    }

    private static String text(final ByteArrayOutputStream line, final long length) {
      final String s = line.toString(StandardCharsets.UTF_8);
      return length > MAX_LINE ? s + "... (" + length + " bytes)" : s;
    }
  }

  /**
   * The lines of the file as they come: each complete line is judged when the next one arrives,
   * since only the last may be torn.
   */
  private static final class Lines {
    private final Path file;
    private final long firstStep;
    private long number;
    private long previousStep = -1;
    private long validEnd;
    private long cutAt = -1;
    // The latest complete line, not judged yet.
    private String pending;
    private long pendingStart;
    private long pendingEnd;

    Lines(final Path file, final long firstStep) {
      this.file = file;
      this.firstStep = firstStep;
    }

    void complete(final long start, final long end, final String text) {
      judgeIntact();
      pending = text;
      pendingStart = start;
      pendingEnd = end;
      number++;
    }

    /** The file ends with a line that has no end of line: torn, and the pending line intact. */
    Scan endWithTail(final String text) {
      judgeIntact();
      return scan(quote(text) + ": cut off before its end of line", number + 1);
    }

    /** The file ends with the pending line: intact if it reads as one, torn otherwise. */
    Scan end() {
      if (pending != null) {
        final String problem = problem(pending);
        if (problem != null) {
          return scan(quote(pending) + ": " + problem, number);
        }
        accept();
      }
      return scan(null, 0);
    }

    private Scan scan(final String torn, final long line) {
      return new Scan(validEnd, cutAt < 0 ? validEnd : cutAt, torn, line);
    }

    private void judgeIntact() {
      if (pending == null) {
        return;
      }
      final String problem = problem(pending);
      if (problem != null) {
        throw new RunDirectoryException(
            file
                + " line "
                + number
                + ": "
                + quote(pending)
                + " "
                + problem
                + ". Only the last row can be torn by a crash, so something else changed this"
                + " file: restore it, or delete line "
                + number
                + " and the rows after it (a resumed run then logs only the steps it trains)");
      }
      accept();
    }

    private void accept() {
      if (number > 1) {
        previousStep = Long.parseLong(pending.substring(0, pending.indexOf(',')));
        if (cutAt < 0 && previousStep >= firstStep) {
          cutAt = pendingStart;
        }
      }
      validEnd = pendingEnd;
      pending = null;
    }

    /** Why the pending line is not what line {@code number} must be; null when it is. */
    private String problem(final String text) {
      if (number == 1) {
        return text.equals(HEADER) ? null : "is not the header (" + HEADER + ")";
      }
      final String[] f = text.split(",", -1);
      if (f.length != 6) {
        return "is not a row (" + HEADER + ": 6 fields, not " + f.length + ")";
      }
      try {
        final long step = Long.parseLong(f[0]);
        Integer.parseInt(f[1]);
        Integer.parseInt(f[2]);
        Double.parseDouble(f[3]);
        Double.parseDouble(f[4]);
        if (!f[5].equals("true") && !f[5].equals("false")) {
          return "is not a row (skipped must be true or false)";
        }
        if (step <= previousStep) {
          return "is out of order (step " + step + " after step " + previousStep + ")";
        }
        return null;
      } catch (NumberFormatException e) {
        return "is not a row (" + HEADER + " with numbers)";
      }
    }
  }

  /** A line as the messages quote it: printable, at most 60 characters. */
  private static String quote(final String text) {
    final StringBuilder b = new StringBuilder("\"");
    text.codePoints()
        .limit(60)
        .forEach(
            c -> {
              if (c < 0x20 || c == 0x7f) {
                b.append(String.format("\\x%02x", c));
              } else {
                b.appendCodePoint(c);
              }
            });
    return b.append(text.length() > 60 ? "...\"" : "\"").toString();
  }

  private static RunDirectoryException cannotWrite(final Path file, final IOException e) {
    return new RunDirectoryException(
        "cannot write "
            + file
            + ": "
            + RunDirectoryException.reason(e)
            + "; free space on that disk (the run can be resumed from its latest checkpoint)",
        e);
  }

  void add(
      final long step,
      final int epoch,
      final int batch,
      final double loss,
      final double lr,
      final boolean skipped) {
    try {
      out.write(step + "," + epoch + "," + batch + "," + loss + "," + lr + "," + skipped + "\n");
    } catch (IOException e) {
      throw cannotWrite(file, e);
    }
  }

  void flush() {
    try {
      out.flush();
    } catch (IOException e) {
      throw cannotWrite(file, e);
    }
  }

  @Override
  public void close() {
    try {
      out.close();
    } catch (IOException e) {
      throw cannotWrite(file, e);
    }
  }
}
