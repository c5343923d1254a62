package io.synctower.coordinator.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link RunDirectory} and its lock without training: what a new run accepts and refuses, who holds
 * a lock and when it is stale, and how {@code steps.csv} is repaired or refused before a resume.
 */
class RunDirectoryTest {
  @TempDir Path tmp;

  private static void lock(final Path dir, final long pid, final String host) throws Exception {
    Files.createDirectories(dir);
    Files.writeString(
        dir.resolve(RunDirectoryLock.FILE),
        "pid: " + pid + "\nhost: " + host + "\nstarted: " + Instant.now() + "\n");
  }

  @Test
  void aMissingOrEmptyDirectoryIsANewRunsAndTheLockNamesThisProcessUntilClosed() throws Exception {
    final Path fresh = tmp.resolve("a/b/run");
    try (RunDirectory dir = RunDirectory.createNew(fresh, false)) {
      assertEquals(fresh, dir.path());
      final String text = Files.readString(fresh.resolve(RunDirectoryLock.FILE));
      assertTrue(text.contains("pid: " + ProcessHandle.current().pid()), text);
      assertTrue(text.contains("host: " + RunDirectoryLock.thisHost()), text);
      assertTrue(dir.notes().isEmpty(), dir.notes()::toString);
    }
    // Created by the run and never used (no config written): removed again, lock and all.
    assertTrue(Files.notExists(fresh), "a directory the run created and never used is removed");

    // A directory that holds only a free lock (a run that never got further) counts as empty.
    Files.createDirectories(fresh);
    Files.writeString(fresh.resolve(RunDirectoryLock.FILE), "");
    try (RunDirectory again = RunDirectory.createNew(fresh, false)) {
      assertTrue(again.notes().isEmpty());
    }
    assertEquals("", Files.readString(fresh.resolve(RunDirectoryLock.FILE)), "free after close");
  }

  @Test
  void aSecondWriterInThisProcessIsRefusedAndTheFirstKeepsItsLock() {
    final Path run = tmp.resolve("run");
    try (RunDirectory first = RunDirectory.createNew(run, false)) {
      final RunDirectoryException e =
          assertThrows(RunDirectoryException.class, () -> RunDirectory.createNew(run, false));
      assertTrue(e.getMessage().contains("is in use by another run"), e.getMessage());
      assertTrue(e.getMessage().contains("(this process)"), e.getMessage());
      // Also under another name of the same directory.
      assertThrows(
          RunDirectoryException.class,
          () -> RunDirectory.createNew(tmp.resolve("x/../run"), false));
    }
    RunDirectory.createNew(run, false).close();
  }

  /** A JVM that holds the operating system's lock on {@code file} until its stdin closes. */
  private Process holdLockInAnotherProcess(final Path file) throws Exception {
    final Path source = tmp.resolve("Hold.java");
    Files.writeString(
        source,
        """
        import java.nio.channels.FileChannel;
        import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
        import java.nio.file.StandardOpenOption;

        public class Hold {
          public static void main(String[] args) throws Exception {
            FileChannel c = FileChannel.open(Path.of(args[0]), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE);
            c.lock();
            System.out.println("locked");
            System.out.flush();
            System.in.read();
          }
        }
        """);
    final String java = ProcessHandle.current().info().command().orElse("java");
    final Process p =
        new ProcessBuilder(java, "-Xmx32m", source.toString(), file.toString())
            .redirectErrorStream(true)
            .start();
    final String line =
        new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream())).readLine();
    assertEquals("locked", line);
    return p;
  }

  @Test
  void theOperatingSystemsLockOfAnotherProcessRefusesASecondWriter() throws Exception {
    final Path run = Files.createDirectories(tmp.resolve("run"));
    final Process holder = holdLockInAnotherProcess(run.resolve(RunDirectoryLock.FILE));
    try {
      // The file names nobody yet: only the OS lock tells that a run holds the directory.
      final RunDirectoryException e =
          assertThrows(RunDirectoryException.class, () -> RunDirectory.createNew(run, false));
      assertTrue(e.getMessage().contains("is in use by another run"), e.getMessage());
    } finally {
      holder.destroy();
      holder.waitFor();
    }
    RunDirectory.createNew(run, false).close();
  }

  @Test
  void aLockOfALiveProcessOnThisHostIsRefusedNamingIt() throws Exception {
    final Process sleeper = new ProcessBuilder("sleep", "600").start();
    try {
      final Path run = tmp.resolve("run");
      lock(run, sleeper.pid(), RunDirectoryLock.thisHost());
      final RunDirectoryException e =
          assertThrows(RunDirectoryException.class, () -> RunDirectory.createNew(run, false));
      assertTrue(e.getMessage().contains("pid " + sleeper.pid()), e.getMessage());
      assertTrue(e.getMessage().contains("on host " + RunDirectoryLock.thisHost()), e.getMessage());
      assertTrue(e.getMessage().contains("started "), e.getMessage());
    } finally {
      sleeper.destroy();
    }
  }

  @Test
  void aLockOfAProcessThatIsGoneIsTakenOverWithANote() throws Exception {
    final Process done = new ProcessBuilder("true").start();
    done.waitFor();
    assumeTrue(ProcessHandle.of(done.pid()).isEmpty(), "its pid was reused at once");
    final Path run = tmp.resolve("run");
    lock(run, done.pid(), RunDirectoryLock.thisHost());
    try (RunDirectory dir = RunDirectory.createNew(run, false)) {
      assertEquals(1, dir.notes().size(), dir.notes()::toString);
      assertTrue(dir.notes().get(0).contains("pid " + done.pid()), dir.notes()::toString);
      assertTrue(dir.notes().get(0).contains("no longer runs"), dir.notes()::toString);
    }
  }

  @Test
  void aLockFromAnotherHostThatIsStillRenewedIsRefusedWithTheManualFix() throws Exception {
    final Path run = tmp.resolve("run");
    lock(run, 4242, "node-17.elsewhere");
    final RunDirectoryException e =
        assertThrows(RunDirectoryException.class, () -> RunDirectory.openExisting(run));
    assertTrue(e.getMessage().contains("holds no run"), e.getMessage());
    Files.writeString(run.resolve("config.yaml"), "name: x\n");
    try (LockRenewer elsewhere = new LockRenewer(run.resolve(RunDirectoryLock.FILE))) {
      final RunDirectoryException held =
          assertThrows(RunDirectoryException.class, () -> RunDirectory.openExisting(run));
      assertTrue(
          held.getMessage().contains("pid 4242 on host node-17.elsewhere"), held.getMessage());
      assertTrue(held.getMessage().contains("still runs"), held.getMessage());
      assertTrue(held.getMessage().contains("delete " + run.resolve(".synctower.lock")));
    }
  }

  @Test
  void aLockFromAnotherHostThatIsNoLongerRenewedIsTakenOverAfterWatchingIt() throws Exception {
    final Path run = tmp.resolve("run");
    lock(run, 4242, "node-17.elsewhere");
    Files.writeString(run.resolve("config.yaml"), "name: x\n");
    final RunDirectoryLock.Lease saved = RunDirectoryLock.lease;
    RunDirectoryLock.lease = new RunDirectoryLock.Lease(Duration.ofMillis(100));
    try (RunDirectory dir = RunDirectory.openExisting(run)) {
      assertEquals(1, dir.notes().size(), dir.notes()::toString);
      assertTrue(dir.notes().get(0).contains("pid 4242 on host node-17.elsewhere"));
      assertTrue(dir.notes().get(0).contains("was not renewed"), dir.notes()::toString);
      // Now this process holds it and renews it (a requeued job on another host would see that).
      final FileTime taken = Files.getLastModifiedTime(run.resolve(RunDirectoryLock.FILE));
      Thread.sleep(400);
      assertTrue(
          Files.getLastModifiedTime(run.resolve(RunDirectoryLock.FILE)).compareTo(taken) > 0,
          "the holder renews its lease");
    } finally {
      RunDirectoryLock.lease = saved;
    }
  }

  @Test
  void aLockFromAnotherHostWhoseLeaseExpiredLongAgoIsTakenOverAtOnce() throws Exception {
    final Path run = tmp.resolve("run");
    lock(run, 4242, "node-17.elsewhere");
    Files.writeString(run.resolve("config.yaml"), "name: x\n");
    Files.setLastModifiedTime(
        run.resolve(RunDirectoryLock.FILE), FileTime.from(Instant.now().minusSeconds(600)));
    final long start = System.nanoTime();
    try (RunDirectory dir = RunDirectory.openExisting(run)) {
      assertTrue(dir.notes().get(0).contains("was not renewed"), dir.notes()::toString);
    }
    // The default lease watches a fresh lock for 30 s; an expired one is not watched at all.
    assertTrue(Duration.ofNanos(System.nanoTime() - start).compareTo(Duration.ofSeconds(20)) < 0);
  }

  @Test
  void overwriteDeletesOnlyARunsFilesAndRefusesADirectoryWithOthers() throws Exception {
    final Path run = tmp.resolve("run");
    Files.createDirectories(run.resolve("checkpoints/step-00000010"));
    Files.writeString(run.resolve("checkpoints/step-00000010/manifest"), "m");
    Files.writeString(run.resolve("checkpoints/latest"), "step-00000010\n");
    Files.writeString(run.resolve("config.yaml"), "name: x\n");
    Files.writeString(run.resolve("steps.csv"), StepLog.HEADER + "\n");

    final RunDirectoryException refused =
        assertThrows(RunDirectoryException.class, () -> RunDirectory.createNew(run, false));
    assertTrue(
        refused
            .getMessage()
            .contains("already holds a run (checkpoints up to step 10, config.yaml, steps.csv)"),
        refused.getMessage());
    assertTrue(refused.getMessage().contains("synctower train --resume " + run));
    assertTrue(refused.getMessage().contains("--overwrite"));

    Files.writeString(run.resolve("checkpoints/notes.txt"), "mine");
    final RunDirectoryException foreign =
        assertThrows(RunDirectoryException.class, () -> RunDirectory.createNew(run, true));
    assertTrue(foreign.getMessage().contains("checkpoints/notes.txt"), foreign.getMessage());
    assertTrue(Files.exists(run.resolve("config.yaml")), "nothing deleted");

    Files.delete(run.resolve("checkpoints/notes.txt"));
    try (RunDirectory dir = RunDirectory.createNew(run, true)) {
      assertTrue(
          dir.notes().get(0).contains("--overwrite deleted the earlier run"),
          dir.notes()::toString);
      try (var left = Files.list(run)) {
        assertEquals(List.of(run.resolve(".synctower.lock")), left.toList());
      }
    }
  }

  @Test
  void aFullDiskAtConfigYamlIsARunDirectoryErrorNamingTheFile() throws Exception {
    assumeTrue(Files.exists(Path.of("/dev/full")), "needs Linux's /dev/full");
    final Path run = tmp.resolve("run");
    try (RunDirectory dir = RunDirectory.createNew(run, false)) {
      Files.createSymbolicLink(run.resolve("config.yaml"), Path.of("/dev/full"));
      final RunDirectoryException e =
          assertThrows(RunDirectoryException.class, () -> dir.writeConfig("name: x\n"));
      assertTrue(e.getMessage().contains(run.resolve("config.yaml").toString()), e.getMessage());
      assertTrue(e.getMessage().contains("No space left on device"), e.getMessage());
    }
  }

  private Path steps(final String text) throws Exception {
    final Path run = tmp.resolve("run");
    Files.createDirectories(run);
    Files.writeString(run.resolve("steps.csv"), text);
    return run;
  }

  private static final String ROWS =
      StepLog.HEADER + "\n0,1,0,2.5,0.1,false\n1,1,1,2.25,0.1,false\n";

  @Test
  void aTornLastRowIsDroppedWithANoteAndIntactFilesAreLeftAlone() throws Exception {
    assertEquals(List.of(), StepLog.repair(steps(ROWS)));
    assertEquals(ROWS, Files.readString(tmp.resolve("run/steps.csv")));

    for (final String torn : List.of("2,1,2,2.1", "7", "2,1,2,2.0,0.1,false,x\n", "\u00ff")) {
      final List<String> notes = StepLog.repair(steps(ROWS + torn));
      assertEquals(1, notes.size(), torn);
      assertTrue(
          notes.get(0).startsWith("steps.csv: dropped a torn last row (line 4"), notes::toString);
      assertEquals(ROWS, Files.readString(tmp.resolve("run/steps.csv")), torn);
    }
    // A header cut off before its end of line leaves an empty file; open writes it again.
    assertEquals(1, StepLog.repair(steps("step,ep")).size());
    assertEquals("", Files.readString(tmp.resolve("run/steps.csv")));
  }

  @Test
  void garbageBeforeTheLastRowIsRefusedNamingTheLine() throws Exception {
    final String[] damaged = {
      ROWS.replace("1,1,1,2.25", "1,1,1,2.2x5") + "2,1,2,2.0,0.1,false\n",
      ROWS + "1,1,1,2.0,0.1,false\n3,1,3,2.0,0.1,false\n",
      "step,epoch\n" + ROWS,
    };
    final int[] lines = {3, 4, 1};
    for (int i = 0; i < damaged.length; i++) {
      final Path run = steps(damaged[i]);
      final RunDirectoryException e =
          assertThrows(RunDirectoryException.class, () -> StepLog.repair(run));
      assertTrue(
          e.getMessage().startsWith(run.resolve("steps.csv") + " line " + lines[i] + ": "),
          e.getMessage());
      assertEquals(damaged[i], Files.readString(run.resolve("steps.csv")), "left as it was");
    }
  }

  @Test
  void openingForAResumeKeepsTheRowsBeforeItsStep() throws Exception {
    final Path run = steps(ROWS + "2,1,2,2.0,0.1,false\n");
    StepLog.open(run, 2).close();
    assertEquals(ROWS, Files.readString(run.resolve("steps.csv")));
    StepLog.open(run, 0).close();
    assertEquals(StepLog.HEADER + "\n", Files.readString(run.resolve("steps.csv")));
  }

  @Test
  void aRunDirectoryThatIsAFileOrUnderOneIsRefusedNamingIt() throws Exception {
    final Path file = Files.writeString(tmp.resolve("file"), "x");
    final RunDirectoryException isFile =
        assertThrows(RunDirectoryException.class, () -> RunDirectory.createNew(file, false));
    assertTrue(isFile.getMessage().contains(file + " (--run-dir) is a file"), isFile.getMessage());
    final RunDirectoryException under =
        assertThrows(
            RunDirectoryException.class, () -> RunDirectory.createNew(file.resolve("run"), false));
    assertTrue(
        under.getMessage().startsWith("cannot create the run directory " + file.resolve("run")),
        under.getMessage());
    assertFalse(under.getMessage().contains("Exception"), under.getMessage());
  }
}
