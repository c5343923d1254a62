package io.synctower.coordinator.cluster;

import static io.synctower.coordinator.cluster.WorkerProcessFixture.freePort;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.config.ConfigLoader;
import io.synctower.common.config.RunConfig;
import io.synctower.common.protocol.Rejection;
import io.synctower.coordinator.launch.WorkerProcesses;
import io.synctower.coordinator.train.Trainer;
import io.synctower.worker.assembly.TrainingData;
import io.synctower.worker.transport.TransportKind;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.agrona.CloseHelper;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * One join per rank: a second worker process claiming a rank, started together with the first or
 * after the first joined, is refused (exit code 2, an error naming the rank and who holds it),
 * never welcomed, and the run goes on with the first and completes. Over IPC, where both processes
 * read the same stream, a welcomed duplicate used to open the tower's data channels too and kill
 * the run with a clashing Aeron session id; over UDP it waited out the join timeout and blamed the
 * secret or a firewall.
 */
class DuplicateRankTest {
  private static final String CONFIG =
      """
      name: duplicates
      seed: 3
      model:
        dtype: float64
        layers:
          - {type: flatten}
          - {type: dense, units: 8}
      data:
        train: {type: overfit, size: 8}
        validation: {type: overfit, size: 8}
      training:
        epochs: 1
        steps: 2
        batchSize: 4
        evalBatchSize: 4
        optimizer: {type: sgd, lr: 0.01}
      """;

  private static final Duration BEAT = Duration.ofMillis(200);
  private static final Duration DEADLINE = Duration.ofSeconds(3);

  @TempDir Path dir;
  private WorkerProcessFixture cluster;
  private final List<WorkerProcesses> started = new ArrayList<>();
  private final Map<String, Integer> exits = new ConcurrentHashMap<>();
  private final ByteArrayOutputStream log = new ByteArrayOutputStream();
  private PrintStream tee;

  @BeforeEach
  void start() throws IOException {
    cluster = new WorkerProcessFixture(dir);
    final PrintStream console = System.out;
    tee =
        new PrintStream(
            new OutputStream() {
              @Override
              public synchronized void write(final byte[] b, final int off, final int len) {
                log.write(b, off, len);
                console.write(b, off, len);
              }

              @Override
              public synchronized void write(final int b) {
                log.write(b);
                console.write(b);
              }
            },
            true,
            StandardCharsets.UTF_8);
  }

  @AfterEach
  void stop() {
    started.forEach(WorkerProcesses::destroy);
    CloseHelper.close(cluster);
  }

  /** Starts worker processes named {@code names} (their log prefix is "[tower i]" by position). */
  private WorkerProcesses startWorkers(final List<String> names, final List<List<String>> args) {
    final WorkerProcesses w =
        WorkerProcesses.start(args, "-Xmx512m", tee, (i, code) -> exits.put(names.get(i), code));
    started.add(w);
    return w;
  }

  private static List<String> withPort(final List<String> args, final int port) {
    final List<String> copy = new ArrayList<>(args);
    copy.set(copy.indexOf("--port") + 1, Integer.toString(port));
    return copy;
  }

  private String output() {
    return log.toString(StandardCharsets.UTF_8);
  }

  @ParameterizedTest
  @EnumSource(TransportKind.class)
  void aSecondClaimOfARankIsRefusedTogetherOrLateAndTheRunCompletes(final TransportKind kind)
      throws Exception {
    final int n = 2;
    final RunConfig config =
        ConfigLoader.parse(CONFIG, "duplicates", Map.of("towers", Integer.toString(n)));
    final int coordinatorPort = freePort();
    final List<List<String>> args =
        cluster.workerArguments(kind, n, coordinatorPort, freePort(), BEAT, DEADLINE);
    // Rank 0, rank 1 and a second rank 0 (its own UDP port), started together.
    final List<List<String>> together = new ArrayList<>(args);
    together.add(withPort(args.get(0), freePort()));
    final WorkerProcesses first = startWorkers(List.of("0", "1", "0 again"), together);
    final RemoteTowers.Options options =
        cluster.coordinatorOptions(kind, coordinatorPort, n, BEAT, DEADLINE, tee);
    final AtomicReference<RemoteTowers> towers = new AtomicReference<>();
    final int latePort = freePort();
    try (Trainer trainer =
        new Trainer(
            config,
            TrainingData.load(config, dir),
            new Trainer.Options(dir.resolve("run-" + kind), false, tee),
            new SecureRandom().nextLong(),
            (id, model, c) -> {
              final RemoteTowers t = RemoteTowers.join(cluster.aeron, id, c, options);
              towers.set(t);
              // Every rank is held now: a third claimant of rank 0 arrives and must be refused
              // while the run waits for it (the coordinator's I/O thread answers it).
              final WorkerProcesses w =
                  startWorkers(List.of("0 late"), List.of(withPort(args.get(0), latePort)));
              final ProcessHandle p = w.handles().get(0);
              final long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
              while (p.isAlive() && System.nanoTime() < end) {
                Thread.sleep(100);
              }
              return t;
            })) {
      final Trainer.Summary summary = trainer.run();
      assertEquals(2, summary.steps(), output());
    }
    final String out = output();
    assertEquals(2, exits.get("0 late"), out);
    // Of the two started together, exactly one was refused; the other trained.
    final Integer a = exits.get("0");
    final Integer b = exits.get("0 again");
    assertTrue((a != null && a == 2) != (b != null && b == 2), "exits " + exits + "\n" + out);
    assertFalse(exits.containsKey("1"), "rank 1 exited early: " + exits + "\n" + out);
    assertTrue(out.contains("rank 0 is already taken: tower 0 ("), out);
    assertTrue(out.contains("Give every worker of the run its own rank 0..1"), out);
    assertTrue(out.contains("coordinator: refused a second claim on rank 0"), out);
    assertFalse(out.contains("RegistrationException"), out);
    assertTrue(towers.get().rejected(Rejection.RANK_TAKEN) >= 2, towers.get().rejections());
    assertTrue(out.contains("coordinator: stopped; rejected: "), out);
    first.awaitExit(Duration.ofSeconds(20));
    for (final ProcessHandle p : first.handles()) {
      assertFalse(p.isAlive(), "worker " + p.pid() + " still running after the run");
    }
  }
}
