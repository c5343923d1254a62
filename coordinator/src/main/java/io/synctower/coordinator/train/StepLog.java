package io.synctower.coordinator.train;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code steps.csv}: one row per optimizer step (step, epoch, batch, mean loss over the global
 * batch, learning rate, whether the update was skipped). Losses are written with Java's shortest
 * round-trip representation, so two runs can be compared bit for bit from their files.
 *
 * <p>Rows are buffered and flushed at every checkpoint and epoch end; a crash loses at most the
 * rows since, which are exactly the steps a resume repeats. Opening for a resume drops the rows at
 * and after the resumed step, so the file never holds a step twice.
 */
final class StepLog implements AutoCloseable {
  static final String HEADER = "step,epoch,batch,loss,lr,skipped";

  private final Path file;
  private final BufferedWriter out;

  private StepLog(final Path file, final BufferedWriter out) {
    this.file = file;
    this.out = out;
  }

  /** A log that keeps the rows of steps before {@code firstStep} (all rows: none at 0). */
  static StepLog open(final Path runDir, final long firstStep) {
    final Path file = runDir.resolve("steps.csv");
    try {
      final List<String> kept = new ArrayList<>();
      kept.add(HEADER);
      if (firstStep > 0 && Files.exists(file)) {
        for (final String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
          if (!line.isEmpty() && Character.isDigit(line.charAt(0))) {
            final long step = Long.parseLong(line.substring(0, line.indexOf(',')));
            if (step < firstStep) {
              kept.add(line);
            }
          }
        }
      }
      Files.write(file, kept, StandardCharsets.UTF_8);
      return new StepLog(
          file, Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.APPEND));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file, e);
    }
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
      throw new UncheckedIOException("cannot write " + file, e);
    }
  }

  void flush() {
    try {
      out.flush();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file, e);
    }
  }

  @Override
  public void close() {
    try {
      out.close();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file, e);
    }
  }
}
