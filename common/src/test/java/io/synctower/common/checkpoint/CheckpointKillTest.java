package io.synctower.common.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.RepetitionInfo;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kills a process that is committing checkpoints (SIGKILL, via {@link Process#destroyForcibly()})
 * at a random moment and checks that what is on disk still loads: the last checkpoint the child
 * reported committed, or the one it was committing if the kill landed after {@code latest} moved
 * but before the report. Then commits once more, as a resumed run would, and checks that the
 * crash's leftovers are gone.
 *
 * <p>This covers a crashed process, not a power cut: the kernel keeps what the dead process wrote,
 * so it tests the order of renames, not the forces. A failure names the trial's seed; rerunning
 * with {@code -Dsynctower.checkpoint.killSeed=<seed>} reuses its delay, though the kill still lands
 * wherever the scheduler puts it.
 */
class CheckpointKillTest {
  private static final long BASE_SEED = Long.getLong("synctower.checkpoint.killSeed", 20_250_601L);
  private static final int MAX_DELAY_MS = 400;
  private static final Map<String, Integer> OUTCOMES = new TreeMap<>();

  @TempDir Path trialDir;

  @RepeatedTest(25)
  void shouldLoadTheLastCommittedOrTheInFlightCheckpointAfterAKill(final RepetitionInfo rep)
      throws Exception {
    final long seed = BASE_SEED + rep.getCurrentRepetition() - 1;
    final Random random = new Random(seed);
    // One trial in eight kills at once (during JVM start-up or the first commit); the rest spread
    // over the next few commits, landing mid-file, mid-rename, mid-prune or between commits.
    final boolean early = random.nextInt(8) == 0;
    final int delayMs = early ? random.nextInt(30) : random.nextInt(MAX_DELAY_MS);
    final String trial = "trial seed " + seed + " (" + (early ? "early, " : "") + delayMs + " ms)";
    final Path root = trialDir.resolve("checkpoints");
    final Path stderr = trialDir.resolve("child-stderr.txt");

    final Process child =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx64m",
                "-XX:TieredStopAtLevel=1",
                "-XX:+UseSerialGC",
                "-cp",
                System.getProperty("java.class.path"),
                CheckpointWriterProcess.class.getName(),
                root.toString(),
                "1000000")
            .redirectError(stderr.toFile())
            .start();
    long lastPrinted = 0;
    try (BufferedReader out =
        new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
      if (!early && !"ready".equals(out.readLine())) {
        child.destroyForcibly().waitFor();
        fail(trial + ": the child did not start: " + Files.readString(stderr));
      }
      Thread.sleep(delayMs);
      if (!child.isAlive()) {
        fail(trial + ": the child died before the kill: " + Files.readString(stderr));
      }
      // SIGKILL through the handle: Process.destroyForcibly() would also close our end of the
      // child's stdout, losing the "committed N" lines still in the pipe.
      child.toHandle().destroyForcibly();
      child.waitFor();
      for (String line = out.readLine(); line != null; line = out.readLine()) {
        if (line.startsWith("committed ")) {
          lastPrinted = Long.parseLong(line.substring("committed ".length()));
        }
      }
    }
    // The child's stdin stays open until it dies: its orphan guard exits when stdin closes.

    final CheckpointStore store = new CheckpointStore(root);
    final String outcome = outcome(store, lastPrinted);
    final long loaded;
    if (lastPrinted == 0 && !Files.exists(store.root().resolve("latest"))) {
      loaded = loadedOrZero(store, trial);
    } else {
      final StoredCheckpoint c = store.loadLatest();
      assertEquals(List.of(), c.skipped(), trial);
      loaded = c.step();
      assertContent(c, trial);
    }
    assertTrue(
        loaded == lastPrinted || loaded == lastPrinted + 1,
        trial + ": loaded step " + loaded + ", the child last reported " + lastPrinted);
    synchronized (OUTCOMES) {
      OUTCOMES.merge(outcome, 1, Integer::sum);
    }

    // Resume: the next commit (possibly of a step whose directory the crash left) cleans up.
    final long next = loaded + 1;
    store.commit(next, CheckpointWriterProcess.files(next), CheckpointWriterProcess.KEEP);
    final StoredCheckpoint resumed = store.loadLatest();
    assertEquals(next, resumed.step(), trial);
    assertContent(resumed, trial);
    try (Stream<Path> entries = Files.list(store.root())) {
      final List<String> names = entries.map(p -> p.getFileName().toString()).toList();
      assertTrue(
          names.stream().noneMatch(n -> n.startsWith(".tmp-") || n.startsWith("latest.tmp-")),
          trial + ": leftovers after the next commit: " + names);
    }
    assertTrue(store.committed().size() <= CheckpointWriterProcess.KEEP, trial);
  }

  /** The step of the checkpoint a kill during the first commit left, or 0 if none. */
  private static long loadedOrZero(final CheckpointStore store, final String trial)
      throws IOException {
    try {
      final StoredCheckpoint c = store.loadLatest();
      assertContent(c, trial);
      return c.step();
    } catch (final NoCheckpointException e) {
      return 0;
    }
  }

  private static void assertContent(final StoredCheckpoint c, final String trial)
      throws IOException {
    assertEquals(CheckpointWriterProcess.NAMES, List.copyOf(c.files().keySet()), trial);
    for (int i = 0; i < CheckpointWriterProcess.NAMES.size(); i++) {
      final String name = CheckpointWriterProcess.NAMES.get(i);
      assertArrayEquals(
          CheckpointWriterProcess.expected(c.step(), i),
          Files.readAllBytes(c.file(name)),
          trial + ": " + name + " of step " + c.step());
    }
  }

  /** Where the kill landed, judged from what it left on disk (before anything is loaded). */
  private static String outcome(final CheckpointStore store, final long lastPrinted)
      throws IOException {
    if (!Files.isDirectory(store.root())) {
      return "before the first commit";
    }
    final List<String> names;
    try (Stream<Path> entries = Files.list(store.root())) {
      names = entries.map(p -> p.getFileName().toString()).toList();
    }
    final long newest =
        store.committed().isEmpty()
            ? 0
            : Long.parseLong(
                store
                    .committed()
                    .get(store.committed().size() - 1)
                    .getFileName()
                    .toString()
                    .substring("step-".length()));
    final String latest =
        names.contains("latest") ? Files.readString(store.root().resolve("latest")).trim() : "";
    if (names.stream().anyMatch(n -> n.startsWith(".tmp-step-"))) {
      return "mid-write";
    }
    if (names.stream().anyMatch(n -> n.startsWith("latest.tmp-"))) {
      return "moving latest";
    }
    if (newest > lastPrinted && !latest.equals(String.format("step-%08d", newest))) {
      return "renamed, latest not yet moved";
    }
    if (newest > lastPrinted) {
      return "committed, not yet reported";
    }
    if (names.stream().anyMatch(n -> n.startsWith(".tmp-prune-"))
        || store.committed().size() > CheckpointWriterProcess.KEEP) {
      return "mid-prune";
    }
    return "between commits";
  }

  @AfterAll
  static void summarize() {
    System.out.println("checkpoint kill test, where the kills landed: " + OUTCOMES);
  }
}
