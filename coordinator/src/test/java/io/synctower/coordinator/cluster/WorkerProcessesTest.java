package io.synctower.coordinator.cluster;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aeron.Aeron;
import io.aeron.Publication;
import io.synctower.common.config.ConfigLoader;
import io.synctower.common.config.RunConfig;
import io.synctower.common.metrics.MetricSums;
import io.synctower.common.metrics.PhaseTimes;
import io.synctower.common.nn.Model;
import io.synctower.common.protocol.ControlCodec;
import io.synctower.common.protocol.Join;
import io.synctower.common.protocol.Message;
import io.synctower.common.protocol.Rejection;
import io.synctower.common.protocol.Report;
import io.synctower.coordinator.launch.WorkerProcesses;
import io.synctower.coordinator.towers.TowerFailedException;
import io.synctower.coordinator.train.EpochRecord;
import io.synctower.coordinator.train.Trainer;
import io.synctower.worker.assembly.TrainingData;
import io.synctower.worker.remote.ControlChannels;
import io.synctower.worker.transport.TransportKind;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.agrona.CloseHelper;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Towers as separate worker JVMs over Aeron (IPC through this JVM's driver, UDP on loopback): they
 * train exactly as towers in one JVM do (same metrics, same final weights, bit for bit), a process
 * without the secret cannot join, another run's message is not applied, and a killed worker ends
 * the run within the heartbeat deadline naming the tower, leaving no process behind.
 */
class WorkerProcessesTest {
  // 8 filters: ~200 KB of float64 gradients, so IPC rounds take the shared-memory path (above
  // 128 KiB) between the worker JVMs, and the towers' results must still equal threads'.
  private static final String CONFIG =
      """
      name: processes
      seed: 5
      model:
        dtype: float64
        layers:
          - {type: conv2d, filters: 8, kernel: 3, stride: 2, bias: false}
          - {type: batchnorm}
          - {type: relu}
          - {type: flatten}
          - {type: dropout, rate: 0.2}
          - {type: dense, units: 16}
      data:
        train: {type: overfit, size: 16}
        validation: {type: overfit, size: 16}
      training:
        epochs: 2
        batchSize: 5
        evalBatchSize: 4
        optimizer: {type: adam, lr: 0.01}
        replicaCheckEvery: 1
      bn:
        sync: true
      """;

  /** CONFIG with a residual block (projection shortcut) in place of the first three layers. */
  private static final String RESIDUAL_CONFIG =
      CONFIG.replace(
          "    - {type: conv2d, filters: 8, kernel: 3, stride: 2, bias: false}\n"
              + "    - {type: batchnorm}\n"
              + "    - {type: relu}\n",
          "    - type: residual\n"
              + "      name: layer1.0\n"
              + "      layers:\n"
              + "        - {type: conv2d, filters: 4, kernel: 3, stride: 2, padding: same,"
              + " bias: false}\n"
              + "        - {type: batchnorm}\n"
              + "        - {type: relu}\n"
              + "        - {type: conv2d, filters: 4, kernel: 3, padding: same, bias: false}\n"
              + "        - {type: batchnorm}\n"
              + "      shortcut:\n"
              + "        - {type: conv2d, filters: 4, kernel: 1, stride: 2, bias: false}\n"
              + "        - {type: batchnorm}\n");

  private static final Duration BEAT = Duration.ofMillis(200);
  private static final Duration DEADLINE = Duration.ofSeconds(2);
  private static final PrintStream QUIET = new PrintStream(OutputStream.nullOutputStream());

  @TempDir Path dir;
  private WorkerProcessFixture cluster;
  private Aeron aeron;
  private byte[] secret;
  private WorkerProcesses workers;

  @BeforeEach
  void startDriver() throws IOException {
    cluster = new WorkerProcessFixture(dir);
    aeron = cluster.aeron;
    secret = cluster.secret;
  }

  @AfterEach
  void stop() {
    if (workers != null) {
      workers.destroy();
    }
    CloseHelper.close(cluster);
  }

  private static RunConfig config(final int towers, final String steps) {
    return ConfigLoader.parse(
        CONFIG, "processes", Map.of("towers", Integer.toString(towers), "training.steps", steps));
  }

  /** Starts N worker JVMs and a trainer whose towers they are. */
  private Trainer remoteTrainer(
      final TransportKind kind,
      final RunConfig config,
      final Path runDir,
      final AtomicReference<RemoteTowers> towers)
      throws Exception {
    final int coordinatorPort = WorkerProcessFixture.freePort();
    final int n = config.towers();
    workers =
        WorkerProcesses.start(
            cluster.workerArguments(
                kind, n, coordinatorPort, WorkerProcessFixture.freePort(), BEAT, DEADLINE),
            "-Xmx1g",
            System.out,
            (rank, code) -> {});
    final RemoteTowers.Options options =
        cluster.coordinatorOptions(kind, coordinatorPort, n, BEAT, DEADLINE, System.out);
    return new Trainer(
        config,
        TrainingData.load(config, dir),
        new Trainer.Options(runDir, false, System.out),
        new SecureRandom().nextLong(),
        (id, first, c) -> {
          final RemoteTowers t = RemoteTowers.join(aeron, id, config, options);
          towers.set(t);
          return t;
        });
  }

  private static double[] weightsAndStatistics(final Model model) {
    final double[] p = model.parameters().toDoubleVector();
    final double[] s = model.state().toDoubleVector();
    final double[] both = Arrays.copyOf(p, p.length + s.length);
    System.arraycopy(s, 0, both, p.length, s.length);
    return both;
  }

  @ParameterizedTest(name = "{0}, {1} towers, residual {2}")
  @CsvSource({"IPC, 2, false", "IPC, 3, false", "UDP, 2, false", "UDP, 3, false", "IPC, 3, true"})
  void workerProcessesTrainBitForBitLikeTowersInOneJvm(
      final TransportKind kind, final int n, final boolean residual) throws Exception {
    if (residual) {
      assertTrue(!RESIDUAL_CONFIG.equals(CONFIG), "the residual block replaced the first layers");
    }
    // Precise BN at every epoch end: its RunPreciseBn round travels the same protocol.
    final RunConfig config =
        ConfigLoader.parse(
            residual ? RESIDUAL_CONFIG : CONFIG,
            "processes",
            Map.of("towers", Integer.toString(n), "training.steps", "0", "bn.preciseBatches", "2"));
    final List<EpochRecord> local;
    final double[] localWeights;
    try (Trainer trainer =
        new Trainer(
            config,
            TrainingData.load(config, dir),
            new Trainer.Options(dir.resolve("local"), false, QUIET))) {
      local = trainer.run().epochs();
      localWeights = weightsAndStatistics(trainer.model());
    }
    final List<EpochRecord> remote;
    final double[] remoteWeights;
    final AtomicReference<RemoteTowers> towers = new AtomicReference<>();
    try (Trainer trainer = remoteTrainer(kind, config, dir.resolve("remote"), towers)) {
      remote = trainer.run().epochs();
      remoteWeights = weightsAndStatistics(trainer.model());
    }
    assertEquals(local.size(), remote.size());
    for (int e = 0; e < local.size(); e++) {
      final EpochRecord a = local.get(e);
      final EpochRecord b = remote.get(e);
      assertEquals(a.trainLoss(), b.trainLoss(), 0.0, "train loss, epoch " + (e + 1));
      assertEquals(a.trainAccuracy(), b.trainAccuracy(), 0.0);
      assertEquals(a.validationLoss(), b.validationLoss(), 0.0, "validation loss");
      assertEquals(a.validationAccuracy(), b.validationAccuracy(), 0.0);
    }
    assertArrayEquals(
        localWeights, remoteWeights, 0.0, "final weights and moving statistics from tower 0");
    workers.awaitExit(Duration.ofSeconds(15));
    for (final ProcessHandle p : workers.handles()) {
      assertTrue(!p.isAlive(), "worker " + p.pid() + " still running after Shutdown");
    }
  }

  @Test
  void killedWorkerEndsTheRunWithinTheHeartbeatDeadlineNamingIt() throws Exception {
    final AtomicReference<RemoteTowers> towers = new AtomicReference<>();
    final RunConfig longRun =
        ConfigLoader.parse(
            CONFIG,
            "processes",
            Map.of("towers", "2", "training.epochs", "100000", "training.replicaCheckEvery", "0"));
    try (Trainer trainer = remoteTrainer(TransportKind.UDP, longRun, dir.resolve("kill"), towers)) {
      final long[] killedAt = new long[1];
      final Thread killer =
          new Thread(
              () -> {
                try {
                  Thread.sleep(1500);
                } catch (InterruptedException e) {
                  return;
                }
                killedAt[0] = System.nanoTime();
                workers.handles().get(1).destroyForcibly();
              });
      killer.start();
      final TowerFailedException e = assertThrows(TowerFailedException.class, trainer::run);
      final long stoppedAt = System.nanoTime();
      killer.join();
      assertTrue(e.getMessage().contains("tower 1"), e.getMessage());
      assertTrue(
          e.getMessage().contains("heartbeat") || e.getMessage().contains("connection closed"),
          e.getMessage());
      // Detected within the heartbeat deadline (plus one heartbeat period and slack for a loaded
      // CI machine); without liveness checks the run would wait forever.
      final long detectionMillis = TimeUnit.NANOSECONDS.toMillis(stoppedAt - killedAt[0]);
      assertTrue(
          detectionMillis <= DEADLINE.plus(BEAT).toMillis() + 3000,
          "lost tower detected after " + detectionMillis + " ms");
    }
    workers.awaitExit(DEADLINE.plusSeconds(5));
    for (final ProcessHandle p : workers.handles()) {
      assertTrue(!p.isAlive(), "worker " + p.pid() + " still running after the run ended");
    }
  }

  @Test
  void impostorCannotJoinAndAnotherRunsOrAReplayedMessageIsNotApplied() throws Exception {
    final RunConfig config = config(2, "3");
    final AtomicReference<RemoteTowers> towers = new AtomicReference<>();
    // The impostor: a process with a different secret claiming rank 1 while the real workers
    // start, through the coordinator's own inbox (IPC stream of this driver).
    final Thread impostor =
        new Thread(
            () -> {
              try (Publication p =
                  aeron.addPublication(
                      ControlChannels.toCoordinator(TransportKind.IPC, ""),
                      ControlChannels.toCoordinatorStream())) {
                final ControlCodec wrong = new ControlCodec(new byte[32]);
                final UnsafeBuffer buf = new UnsafeBuffer(ByteBuffer.allocateDirect(4096));
                final Join.Request request = new Join.Request(1, 2, 999_999, 0, "impostor", "", "");
                final long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                long seq = 0;
                while (System.nanoTime() < end && towers.get() == null) {
                  offer(p, wrong, request, ++seq, buf);
                  // A proof made without the secret (it never saw a challenge meant for it).
                  offer(p, wrong, new Join.Proof(0, 1, new byte[32]), ++seq, buf);
                  Thread.sleep(50);
                }
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            });
    impostor.start();
    try (Trainer trainer = remoteTrainer(TransportKind.IPC, config, dir.resolve("imp"), towers)) {
      impostor.join();
      final RemoteTowers t = towers.get();
      // Another run's report, correctly authenticated (same secret), must be counted, not applied.
      try (Publication p =
          aeron.addPublication(
              ControlChannels.toCoordinator(TransportKind.IPC, ""),
              ControlChannels.toCoordinatorStream())) {
        final ControlCodec codec = new ControlCodec(secret);
        final UnsafeBuffer buf = new UnsafeBuffer(ByteBuffer.allocateDirect(4096));
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (t.rejected(Rejection.WRONG_RUN) == 0 && System.nanoTime() < deadline) {
          offer(
              p,
              codec,
              new Report.StepDone(
                  42,
                  0,
                  0,
                  new MetricSums(1e9, 0, 0, 5),
                  new PhaseTimes(0, 0, 0, 0, 0, 0),
                  0,
                  false,
                  ""),
              1,
              buf);
          Thread.sleep(20);
        }
        // A replay: this run's id, tower 0's identity and the secret, but an old sequence number
        // (as a recorded frame sent again would have). Counted STALE, never applied. A recorded
        // frame is one the coordinator has seen, so wait until it has accepted one from tower 0
        // (on a loaded machine its first message may still be on its way, and a "replay" of a
        // frame never sent would rightly be new).
        final long heardEnd = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (t.lastSequence(0) < 1 && System.nanoTime() < heardEnd) {
          Thread.sleep(10);
        }
        assertTrue(t.lastSequence(0) >= 1, "tower 0 sent nothing within 10 s");
        final long staleBefore = t.rejected(Rejection.STALE);
        final long replayEnd = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (t.rejected(Rejection.STALE) == staleBefore && System.nanoTime() < replayEnd) {
          offer(
              p,
              codec,
              new Report.StepDone(
                  t.runId(),
                  0,
                  0,
                  new MetricSums(1e9, 0, 0, 5),
                  new PhaseTimes(0, 0, 0, 0, 0, 0),
                  0,
                  false,
                  ""),
              1,
              buf);
          Thread.sleep(20);
        }
        assertTrue(t.rejected(Rejection.STALE) > staleBefore, t.rejections());
      }
      final Trainer.Summary summary = trainer.run();
      assertEquals(3, summary.steps());
      assertTrue(t.rejected(Rejection.WRONG_RUN) >= 1, t.rejections());
      assertTrue(t.rejected(Rejection.IMPOSTOR) + t.rejected(Rejection.STALE) >= 1, t.rejections());
      // The forged report did not count: the loss is that of 5 real samples per step.
      assertTrue(summary.last().trainLoss() < 100, "loss " + summary.last().trainLoss());
    }
  }

  private static void offer(
      final Publication p,
      final ControlCodec codec,
      final Message m,
      final long seq,
      final UnsafeBuffer buf) {
    final int length = codec.encode(m, seq, buf, 0);
    p.offer(buf, 0, length);
  }
}
