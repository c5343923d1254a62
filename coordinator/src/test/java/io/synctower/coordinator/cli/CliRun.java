package io.synctower.coordinator.cli;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * One {@code synctower} command run in this JVM as a user would run it, with what it printed: the
 * exit code, stdout and stderr. System.out and System.err are captured for the call and restored.
 */
public record CliRun(int code, String out, String err) {
  public static CliRun of(final String... args) {
    final ByteArrayOutputStream out = new ByteArrayOutputStream();
    final ByteArrayOutputStream err = new ByteArrayOutputStream();
    final PrintStream oldOut = System.out;
    final PrintStream oldErr = System.err;
    System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
    System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    try {
      final int code = SyncTowerCli.execute(args);
      return new CliRun(
          code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    } finally {
      System.setOut(oldOut);
      System.setErr(oldErr);
    }
  }

  /**
   * {@code train --config CONFIG --no-progress --no-doctor --run-dir RUN} and {@code more}: a
   * training run as the CLI tests start one.
   */
  public static CliRun train(final Path config, final Path run, final String... more) {
    final List<String> args = new ArrayList<>();
    args.addAll(
        List.of(
            "train",
            "--config",
            config.toString(),
            "--no-progress",
            "--no-doctor",
            "--run-dir",
            run.toString()));
    args.addAll(List.of(more));
    return of(args.toArray(String[]::new));
  }

  /** Stdout then stderr, for assertion messages. */
  public String all() {
    return out + err;
  }
}
