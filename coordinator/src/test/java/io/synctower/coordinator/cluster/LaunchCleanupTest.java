package io.synctower.coordinator.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.coordinator.launch.ChildJvm;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code synctower launch} leaves neither its temporary secret nor its Aeron directory behind,
 * whichever way it ends: a normal end, an error, SIGTERM (its shutdown hook), and SIGKILL (its
 * workers notice and clean up). Each case runs the real CLI as a child process with its own
 * java.io.tmpdir, so the secret's directory can be looked for; the Aeron directory is the one it
 * prints.
 */
class LaunchCleanupTest {
  private static final String CONFIG =
      """
      name: cleanup
      seed: 1
      model:
        dtype: float32
        layers:
          - {type: flatten}
          - {type: dense, units: 8}
      data:
        train: {type: overfit, size: 8}
        validation: {type: overfit, size: 8}
      training:
        epochs: 1
        batchSize: 4
        evalBatchSize: 4
        optimizer: {type: sgd, lr: 0.01}
      """;

  private static final Pattern AERON_DIR = Pattern.compile("on Aeron IPC \\((.+)\\)");

  @TempDir Path dir;
  private Process launch;
  private List<ProcessHandle> workers = List.of();
  private final List<String> lines = new ArrayList<>();
  private final CountDownLatch waiting = new CountDownLatch(1);

  @AfterEach
  void stop() {
    if (launch != null) {
      launch.descendants().forEach(ProcessHandle::destroyForcibly);
      launch.destroyForcibly();
    }
    // A killed launch's workers are no longer its descendants.
    workers.forEach(ProcessHandle::destroyForcibly);
  }

  /** Starts {@code synctower launch --towers 1 ... extra} with java.io.tmpdir = dir/tmp. */
  private void startLaunch(final String... extra) throws IOException {
    final Path config = dir.resolve("cleanup.yaml");
    Files.writeString(config, CONFIG);
    Files.createDirectories(dir.resolve("tmp"));
    final List<String> args =
        new ArrayList<>(
            List.of(
                "launch",
                "--config",
                config.toString(),
                "--towers",
                "1",
                "--worker-heap",
                "512m",
                "--no-progress",
                "--run-dir",
                dir.resolve("run").toString()));
    args.addAll(List.of(extra));
    final List<String> command = new ArrayList<>(ChildJvm.command("-Xmx512m", args));
    command.add(1, "-Djava.io.tmpdir=" + dir.resolve("tmp"));
    launch = new ProcessBuilder(command).redirectErrorStream(true).start();
    final Thread pump =
        new Thread(
            () -> {
              try (BufferedReader in =
                  new BufferedReader(
                      new InputStreamReader(launch.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = in.readLine()) != null) {
                  System.out.println("[launch] " + line);
                  synchronized (lines) {
                    lines.add(line);
                  }
                  if (line.contains("waiting for 1 tower(s)")) {
                    waiting.countDown();
                  }
                }
              } catch (IOException e) {
                // The process is gone.
              }
            });
    pump.setDaemon(true);
    pump.start();
  }

  private String output() {
    synchronized (lines) {
      return String.join("\n", lines);
    }
  }

  private Path aeronDir() {
    final Matcher m = AERON_DIR.matcher(output());
    assertTrue(m.find(), output());
    return Path.of(m.group(1));
  }

  private List<Path> secretDirs() throws IOException {
    try (Stream<Path> s = Files.list(dir.resolve("tmp"))) {
      return s.filter(p -> p.getFileName().toString().startsWith("synctower-launch")).toList();
    }
  }

  private int awaitExit() throws InterruptedException {
    assertTrue(launch.waitFor(180, TimeUnit.SECONDS), "launch did not end\n" + output());
    return launch.exitValue();
  }

  /** Waits until the coordinator listens, with its secret written and its driver running. */
  private List<ProcessHandle> awaitStartUp() throws Exception {
    assertTrue(waiting.await(120, TimeUnit.SECONDS), output());
    assertTrue(Files.isDirectory(aeronDir()), output());
    workers = launch.descendants().toList();
    return workers;
  }

  private void assertNothingLeft(final Path aeron) throws IOException {
    assertEquals(List.of(), secretDirs(), output());
    assertFalse(Files.exists(aeron), aeron + " still exists\n" + output());
  }

  @Test
  void aNormalEndLeavesNoSecretAndNoAeronDirectory() throws Exception {
    startLaunch("--steps", "1");
    assertEquals(0, awaitExit(), output());
    assertNothingLeft(aeronDir());
  }

  @Test
  void anErrorLeavesNoSecretAndNoAeronDirectory() throws Exception {
    // No worker JVM joins within a millisecond: the run fails after the files were made.
    startLaunch("--steps", "1", "--join-timeout", "1ms");
    assertEquals(1, awaitExit(), output());
    assertTrue(output().contains("did not join within"), output());
    assertNothingLeft(aeronDir());
  }

  @Test
  void sigtermDuringStartUpStopsTheWorkersAndLeavesNothing() throws Exception {
    startLaunch("--steps", "100000");
    awaitStartUp();
    launch.destroy(); // SIGTERM
    assertNotEquals(0, awaitExit(), output());
    assertNothingLeft(aeronDir());
    for (final ProcessHandle w : workers) {
      w.onExit().get(30, TimeUnit.SECONDS);
      assertFalse(w.isAlive(), "worker " + w.pid() + " outlived launch");
    }
  }

  @Test
  void sigkillIsCleanedUpByTheWorkers() throws Exception {
    startLaunch("--steps", "100000");
    awaitStartUp();
    final Path aeron = aeronDir();
    launch.destroyForcibly(); // SIGKILL: no hook runs
    awaitExit();
    // Each worker notices its launcher is gone, stops, and deletes what the launcher left.
    for (final ProcessHandle w : workers) {
      w.onExit().get(60, TimeUnit.SECONDS);
    }
    assertNothingLeft(aeron);
  }
}
