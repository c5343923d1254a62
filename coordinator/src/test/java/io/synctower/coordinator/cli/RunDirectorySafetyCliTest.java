package io.synctower.coordinator.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import io.synctower.common.checkpoint.CheckpointStore;
import io.synctower.coordinator.train.LockRenewer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A run directory as a user meets it from the command line: a second run into it is refused and
 * leaves the first byte for byte; {@code --overwrite} replaces a run but never a directory with
 * other files; a lock held by a live run, here or on another host, refuses a second writer, a stale
 * one is taken over; a torn {@code steps.csv} row is dropped and the resume stays bit-exact, other
 * damage is exit 2 naming the line before any tower starts; a run directory or export path that
 * cannot be written is exit 2 before training.
 */
class RunDirectorySafetyCliTest {
  private static final String CONFIG =
      """
      name: safety
      towers: 2
      model:
        layers:
          - {type: conv2d, filters: 4, kernel: 3, stride: 2}
          - {type: batchnorm}
          - {type: relu}
          - {type: flatten}
          - {type: dense, units: 32}
      data:
        train: {type: overfit, size: 32}
        validationSplit: 0
      training:
        epochs: 2
        batchSize: 4
        optimizer: {type: sgd, lr: 0.05, momentum: 0.9}
      checkpoint:
        every: {steps: 2}
        keep: 2
      doctor: false
      """;

  /** What every refusal before training must not print: the model line comes after preflight. */
  private static final String TRAINING_STARTED = "model: ";

  @TempDir Path dir;

  private Path config() throws Exception {
    final Path file = dir.resolve("c.yaml");
    if (!Files.exists(file)) {
      Files.writeString(file, CONFIG);
    }
    return file;
  }

  private CliRun train(final Path run, final String steps, final String... more) throws Exception {
    final List<String> args =
        new ArrayList<>(
            List.of(
                "train",
                "--config",
                config().toString(),
                "--steps",
                steps,
                "--no-progress",
                "--run-dir",
                run.toString()));
    args.addAll(List.of(more));
    return CliRun.of(args.toArray(String[]::new));
  }

  /** Every file under {@code root} by relative path, with its bytes as text. */
  private static Map<String, String> snapshot(final Path root) throws Exception {
    final Map<String, String> files = new TreeMap<>();
    try (Stream<Path> all = Files.walk(root)) {
      for (final Path p : (Iterable<Path>) all::iterator) {
        if (Files.isRegularFile(p)) {
          files.put(
              root.relativize(p).toString(),
              java.util.HexFormat.of().formatHex(Files.readAllBytes(p)));
        }
      }
    }
    return files;
  }

  private static List<Long> checkpointSteps(final Path run) throws Exception {
    final List<Long> steps = new ArrayList<>();
    for (final Path p : new CheckpointStore(run.resolve("checkpoints")).committed()) {
      steps.add(CheckpointStore.load(p).step());
    }
    return steps;
  }

  @Test
  void aSecondRunIntoARunDirectoryIsRefusedAndTheFirstIsLeftByteForByte() throws Exception {
    final Path run = dir.resolve("R");
    final CliRun first = train(run, "10");
    assertEquals(0, first.code(), first.all());
    assertEquals(List.of(8L, 10L), checkpointSteps(run));
    final Map<String, String> before = snapshot(run);
    assertTrue(before.containsKey("config.yaml") && before.containsKey("steps.csv"), "" + before);

    final CliRun second = train(run, "2", "--seed", "99");

    assertEquals(2, second.code(), second.all());
    assertTrue(second.err().startsWith("error: " + run + " (--run-dir) already holds a run"));
    assertTrue(second.err().contains("checkpoints up to step 10"), second.err());
    assertTrue(second.err().contains("synctower train --resume " + run), second.err());
    assertTrue(second.err().contains("--overwrite"), second.err());
    assertFalse(second.out().contains(TRAINING_STARTED), second.out());
    assertEquals(before, snapshot(run), "the first run's files, byte for byte");
  }

  @Test
  void overwriteReplacesAnEarlierRunButNeverADirectoryWithOtherFiles() throws Exception {
    final Path run = dir.resolve("R");
    assertEquals(0, train(run, "10").code());

    final CliRun again = train(run, "2", "--seed", "99", "--overwrite");

    assertEquals(0, again.code(), again.all());
    assertTrue(again.out().contains("--overwrite deleted the earlier run"), again.out());
    assertEquals(List.of(2L), checkpointSteps(run));
    assertTrue(Files.readString(run.resolve("config.yaml")).contains("seed: 99"));
    assertEquals(3, Files.readAllLines(run.resolve("steps.csv")).size(), "header and 2 rows");

    final Path mine = dir.resolve("mine");
    Files.createDirectories(mine);
    Files.writeString(mine.resolve("thesis.tex"), "years of work");
    Files.writeString(mine.resolve("config.yaml"), "name: mine\n");
    final CliRun refused = train(mine, "2", "--overwrite");
    assertEquals(2, refused.code(), refused.all());
    assertTrue(refused.err().contains("thesis.tex"), refused.err());
    assertTrue(
        Files.exists(mine.resolve("thesis.tex")) && Files.exists(mine.resolve("config.yaml")));

    final Path empty = Files.createDirectories(dir.resolve("empty"));
    assertEquals(0, train(empty, "1").code(), "an empty directory is a new run's");
  }

  private static void writeLock(final Path run, final long pid, final String host)
      throws Exception {
    Files.createDirectories(run);
    Files.writeString(
        run.resolve(".synctower.lock"),
        "pid: " + pid + "\nhost: " + host + "\nstarted: " + Instant.now() + "\n");
  }

  @Test
  void aLockOfALiveRunRefusesASecondWriterAndAStaleOneIsTakenOver() throws Exception {
    final Path run = dir.resolve("R");
    assertEquals(0, train(run, "4").code());
    final String host = java.net.InetAddress.getLocalHost().getHostName();
    final Process live = new ProcessBuilder("sleep", "600").start();
    try {
      writeLock(run, live.pid(), host);
      final CliRun resumed = CliRun.of("train", "--resume", run.toString(), "--no-progress");
      assertEquals(2, resumed.code(), resumed.all());
      assertTrue(resumed.err().contains("is in use by another run: pid " + live.pid()));
      assertTrue(resumed.err().contains("on host " + host), resumed.err());
      assertFalse(resumed.out().contains("resuming from"), resumed.out());
      final CliRun preciseBn =
          CliRun.of("precise-bn", "--checkpoint", run.toString(), "--batches", "1");
      assertEquals(2, preciseBn.code(), preciseBn.all());
      assertTrue(preciseBn.err().contains("pid " + live.pid()), preciseBn.err());
      final CliRun fresh = train(dir.resolve("other"), "1");
      assertEquals(0, fresh.code(), "another directory is free: " + fresh.all());
    } finally {
      live.destroy();
      live.waitFor();
    }
    // The same lock once its process is gone: stale, taken over with a note.
    final CliRun resumed =
        CliRun.of("train", "--resume", run.toString(), "--steps", "6", "--no-progress");
    assertEquals(0, resumed.code(), resumed.all());
    assertTrue(resumed.out().contains("the lock of pid " + live.pid()), resumed.out());
    assertTrue(resumed.out().contains("no longer runs"), resumed.out());

    // A run on another host, which renews its lock: refused.
    writeLock(run, 4242, "node-17.elsewhere");
    final CliRun elsewhere;
    try (LockRenewer renewer = new LockRenewer(run.resolve(".synctower.lock"))) {
      elsewhere = CliRun.of("train", "--resume", run.toString(), "--no-progress");
    }
    assertEquals(2, elsewhere.code(), elsewhere.all());
    assertTrue(elsewhere.err().contains("pid 4242 on host node-17.elsewhere"), elsewhere.err());
    assertTrue(elsewhere.err().contains("still runs"), elsewhere.err());
    assertTrue(elsewhere.err().contains("delete " + run.resolve(".synctower.lock")));
    // The same run gone (a requeued job on a new host finds its lease long expired): resumed.
    java.nio.file.Files.setLastModifiedTime(
        run.resolve(".synctower.lock"),
        java.nio.file.attribute.FileTime.from(Instant.now().minusSeconds(600)));
    final CliRun requeued =
        CliRun.of("train", "--resume", run.toString(), "--steps", "7", "--no-progress");
    assertEquals(0, requeued.code(), requeued.all());
    assertTrue(requeued.out().contains("was not renewed"), requeued.out());
  }

  @Test
  void aTornStepsRowIsDroppedAndTheResumeIsStillBitExact() throws Exception {
    final Path straight = dir.resolve("straight");
    assertEquals(0, train(straight, "10").code());
    final Path stopped = dir.resolve("stopped");
    assertEquals(0, train(stopped, "6").code());
    // One stray byte after the last row, as a crash or a stray write leaves it.
    Files.writeString(stopped.resolve("steps.csv"), "7", StandardOpenOption.APPEND);

    final CliRun resumed =
        CliRun.of("train", "--resume", stopped.toString(), "--steps", "10", "--no-progress");

    assertEquals(0, resumed.code(), resumed.all());
    assertTrue(
        resumed.out().contains("resume: steps.csv: dropped a torn last row (line 8, \"7\""),
        resumed.out());
    assertEquals(
        Files.readAllLines(straight.resolve("steps.csv")),
        Files.readAllLines(stopped.resolve("steps.csv")),
        "per-step losses of the resumed run");
  }

  @Test
  void garbageInsideStepsCsvIsExitTwoNamingTheLineBeforeAnyTowerStarts() throws Exception {
    final Path run = dir.resolve("R");
    assertEquals(0, train(run, "6").code());
    final List<String> lines = new ArrayList<>(Files.readAllLines(run.resolve("steps.csv")));
    lines.set(2, "garbage");
    Files.write(run.resolve("steps.csv"), lines);

    final CliRun resumed = CliRun.of("train", "--resume", run.toString(), "--no-progress");

    assertEquals(2, resumed.code(), resumed.all());
    assertTrue(
        resumed.err().startsWith("error: " + run.resolve("steps.csv") + " line 3: \"garbage\""),
        resumed.err());
    assertFalse(resumed.out().contains("resuming from"), resumed.out());
    assertFalse(resumed.out().contains(TRAINING_STARTED), resumed.out());
  }

  @Test
  void aRunDirectoryThatCannotBeWrittenIsExitTwoBeforeTraining() throws Exception {
    final Path file = Files.writeString(dir.resolve("a-file"), "x");
    final CliRun isFile = train(file, "1");
    assertEquals(2, isFile.code(), isFile.all());
    assertTrue(isFile.err().contains(file + " (--run-dir) is a file"), isFile.err());
    assertFalse(isFile.out().contains(TRAINING_STARTED), isFile.out());

    final CliRun underFile = train(file.resolve("run"), "1");
    assertEquals(2, underFile.code(), underFile.all());
    assertTrue(underFile.err().contains("cannot create the run directory"), underFile.err());
    assertFalse(underFile.all().contains("Exception"), underFile.all());

    final CliRun notARun = CliRun.of("train", "--resume", dir.toString(), "--no-progress");
    assertEquals(2, notARun.code(), notARun.all());
    assertTrue(notARun.err().contains(dir + " holds no run"), notARun.err());
    assertFalse(Files.exists(dir.resolve(".synctower.lock")), "no lock left in a foreign dir");
  }

  @Test
  void aReadOnlyRunDirectoryIsExitTwoNamingIt() throws Exception {
    final Path readOnly = Files.createDirectories(dir.resolve("ro"));
    Files.setPosixFilePermissions(readOnly, PosixFilePermissions.fromString("r-xr-xr-x"));
    try {
      assumeFalse(Files.isWritable(readOnly), "root writes into read-only directories");
      final CliRun r = train(readOnly, "1");
      assertEquals(2, r.code(), r.all());
      assertTrue(r.err().contains(readOnly.toString()), r.err());
      assertTrue(r.err().contains("permission denied"), r.err());
    } finally {
      Files.setPosixFilePermissions(readOnly, PosixFilePermissions.fromString("rwxr-xr-x"));
    }
  }

  @Test
  void exportWeightsIntoAMissingDirectoryIsExitTwoBeforeTraining() throws Exception {
    final Path run = dir.resolve("R");
    final Path target = dir.resolve("nonexistent/x.npz");
    final CliRun r = train(run, "2", "--export-weights", target.toString());
    assertEquals(2, r.code(), r.all());
    assertTrue(r.err().contains("--export-weights"), r.err());
    assertTrue(r.err().contains(dir.resolve("nonexistent") + " does not exist"), r.err());
    assertFalse(r.out().contains(TRAINING_STARTED), r.out());
    assertFalse(Files.exists(run), "nothing written");
  }

  @Test
  void aRunThatFailsBeforeItsFirstStepLeavesNothingSoItCanSimplyBeRunAgain() throws Exception {
    final Path run = dir.resolve("R");
    final CliRun failed =
        train(run, "1", "--init-weights", dir.resolve("no-such-weights.npz").toString());
    assertEquals(2, failed.code(), failed.all());
    assertTrue(failed.err().contains("no-such-weights.npz"), failed.err());
    assertFalse(Files.exists(run), "the run directory it created");

    // Into a directory that was there: it stays, holding only the (free) lock file, proof that
    // the run had owned it and wrote its config.yaml before failing.
    final Path existing = Files.createDirectories(dir.resolve("existing"));
    assertEquals(2, train(existing, "1", "--init-weights", "no-such.npz").code());
    try (Stream<Path> left = Files.list(existing)) {
      assertEquals(List.of(existing.resolve(".synctower.lock")), left.toList());
    }
    final CliRun again = train(existing, "1");
    assertEquals(0, again.code(), again.all());
  }

  @Test
  void launchAndCoordinatorRefuseARunDirectoryBeforeAnyWorkerOrTransport() throws Exception {
    final Path run = dir.resolve("R");
    assertEquals(0, train(run, "2").code());
    final Map<String, String> before = snapshot(run);
    final Path secret =
        Files.createFile(
            dir.resolve("secret"),
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    Files.writeString(secret, "ab".repeat(32) + "\n");
    final long childrenBefore = ProcessHandle.current().children().count();
    for (final String command : List.of("launch", "coordinator")) {
      final List<String> args =
          new ArrayList<>(
              List.of(
                  command,
                  "--config",
                  config().toString(),
                  "--no-progress",
                  "--run-dir",
                  run.toString()));
      if (command.equals("coordinator")) {
        args.addAll(List.of("--secret-file", secret.toString()));
      }
      final CliRun r = CliRun.of(args.toArray(String[]::new));
      assertEquals(2, r.code(), command + ": " + r.all());
      assertTrue(r.err().contains("already holds a run"), r.err());
    }
    assertEquals(childrenBefore, ProcessHandle.current().children().count(), "no worker started");
    assertEquals(before, snapshot(run));
  }

  @Test
  void preciseBnOutIntoAnotherRunIsRefused() throws Exception {
    final Path source = dir.resolve("source");
    final Path other = dir.resolve("other");
    assertEquals(0, train(source, "2").code());
    assertEquals(0, train(other, "4").code());
    final Map<String, String> before = snapshot(other);

    final CliRun r =
        CliRun.of(
            "precise-bn",
            "--checkpoint",
            source.toString(),
            "--batches",
            "1",
            "--out",
            other.toString());

    assertEquals(2, r.code(), r.all());
    assertTrue(r.err().contains(other + " (--out) already holds a run"), r.err());
    assertEquals(before, snapshot(other), "its checkpoint 4 not pruned by one of step 2");
  }
}
