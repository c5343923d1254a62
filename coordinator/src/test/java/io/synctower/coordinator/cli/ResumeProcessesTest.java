package io.synctower.coordinator.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.data.Npz;
import io.synctower.common.protocol.JoinAuth;
import io.synctower.coordinator.launch.LocalWorkers;
import io.synctower.coordinator.launch.WorkerProcesses;
import io.synctower.worker.transport.TransportKind;
import java.io.IOException;
import java.net.DatagramSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@code launch --resume} and {@code coordinator --resume} as a user runs them: a launch whose
 * worker is killed after a checkpoint says how to continue, and continued with {@code launch
 * --resume} it has the per-step losses and final weights and moving statistics of an uninterrupted
 * run, bit for bit; {@code coordinator --resume} continues a run with workers started separately
 * (UDP), again bit for bit. The uninterrupted reference is {@code train} with towers as threads,
 * which WorkerProcessesTest proves equal to worker processes bit for bit. A resume that cannot work
 * is refused with exit code 2 before any worker process starts.
 */
class ResumeProcessesTest {
  private static final String CONFIG =
      """
      name: resume-processes
      towers: 2
      model:
        # float64 as in WorkerProcessesTest: in float32 the native kernels round differently with
        # a worker process's thread count (OMP_NUM_THREADS) than with this JVM's.
        dtype: float64
        layers:
          - {type: conv2d, filters: 4, kernel: 3, stride: 2}
          - {type: batchnorm}
          - {type: relu}
          - {type: flatten}
          - {type: dropout, rate: 0.1}
          - {type: dense, units: 32}
      data:
        train: {type: overfit, size: 32}
        validationSplit: 0
      training:
        epochs: 1000
        batchSize: 4
        optimizer: {type: sgd, lr: 0.05, momentum: 0.9}
      checkpoint:
        every: {steps: 2}
        keep: 2
      """;

  @TempDir Path dir;

  private Path config() throws IOException {
    final Path file = dir.resolve("c.yaml");
    Files.writeString(file, CONFIG);
    return file;
  }

  private static CliRun cli(final String... args) {
    final List<String> all = new ArrayList<>(Arrays.asList(args));
    all.add("--no-progress");
    return CliRun.of(all.toArray(String[]::new));
  }

  /** An uninterrupted run of {@code steps} steps with towers as threads, for reference. */
  private Path straight(final Path config, final long steps) {
    final Path run = dir.resolve("straight");
    final CliRun r =
        cli(
            "train",
            "--config",
            config.toString(),
            "--steps",
            Long.toString(steps),
            "--run-dir",
            run.toString(),
            "--export-weights",
            run.resolve("weights.npz").toString());
    assertEquals(0, r.code(), r.all());
    return run;
  }

  private static void assertSameRun(final Path straight, final Path resumed, final Path weights)
      throws IOException {
    assertEquals(
        Files.readAllLines(straight.resolve("steps.csv")),
        Files.readAllLines(resumed.resolve("steps.csv")),
        "per-step losses (shortest round-trip decimals) of the resumed run");
    assertEquals(
        Npz.read(straight.resolve("weights.npz")),
        Npz.read(weights),
        "final weights and BN moving statistics, bit for bit");
  }

  /** The step of the checkpoint {@code latest} names ({@code step-00000006} is 6). */
  private static long latestStep(final Path run) throws IOException {
    final String name = Files.readString(run.resolve("checkpoints/latest")).trim();
    return Long.parseLong(name.substring("step-".length(), "step-".length() + 8));
  }

  @Test
  void aLaunchWhoseWorkerWasKilledResumesBitForBitLikeAnUninterruptedRun() throws Exception {
    final Path config = config();
    final Path run = dir.resolve("run");
    // Kills a worker once the first checkpoint is committed: what a crashed host does. The
    // launch's workers are this JVM's only child processes.
    final AtomicReference<String> killed = new AtomicReference<>("no worker killed");
    final Thread killer =
        new Thread(
            () -> {
              try {
                while (Files.notExists(run.resolve("checkpoints/latest"))) {
                  Thread.sleep(20);
                }
              } catch (InterruptedException e) {
                return;
              }
              ProcessHandle.current()
                  .children()
                  .reduce((a, b) -> b)
                  .ifPresent(
                      p -> {
                        p.destroyForcibly();
                        killed.set("killed worker pid " + p.pid());
                      });
            });
    killer.setDaemon(true);
    killer.start();
    final CliRun first =
        cli(
            "launch",
            "--config",
            config.toString(),
            "--steps",
            "400",
            "--run-dir",
            run.toString(),
            "--worker-heap",
            "512m");
    killer.interrupt();
    killer.join();

    assertEquals(1, first.code(), killed.get() + "\n" + first.all());
    assertTrue(first.err().contains("error: tower "), first.err());
    assertTrue(
        first
            .out()
            .contains(
                "launch: continue from the latest checkpoint with `synctower launch"
                    + " --resume "
                    + run
                    + "`"),
        first.out());

    final long total = latestStep(run) + 6;
    final Path weights = dir.resolve("resumed.npz");
    final CliRun resumed =
        cli(
            "launch",
            "--resume",
            run.toString(),
            "--steps",
            Long.toString(total),
            "--worker-heap",
            "512m",
            "--export-weights",
            weights.toString());

    assertEquals(0, resumed.code(), resumed.all());
    assertTrue(
        resumed.out().contains("resuming from " + run.resolve("checkpoints")), resumed.out());
    assertTrue(resumed.out().contains("resume: changed training.steps: 400 -> " + total));
    assertSameRun(straight(config, total), run, weights);
  }

  @Test
  void theCoordinatorResumesARunWithWorkersStartedSeparately() throws Exception {
    final Path config = config();
    final Path run = dir.resolve("run");
    assertEquals(
        0,
        cli("train", "--config", config.toString(), "--steps", "6", "--run-dir", run.toString())
            .code());
    final Path secret = secretFile();
    final int coordinatorPort = freePort();
    final WorkerProcesses workers =
        WorkerProcesses.start(
            new LocalWorkers(
                    TransportKind.UDP,
                    2,
                    1,
                    secret,
                    coordinatorPort,
                    freePort(),
                    null,
                    dir,
                    Duration.ofMillis(500),
                    Duration.ofSeconds(5),
                    Duration.ofSeconds(120))
                .arguments(),
            "-Xmx512m",
            System.out,
            (rank, code) -> {});
    final Path weights = dir.resolve("resumed.npz");
    final CliRun resumed;
    try {
      resumed =
          cli(
              "coordinator",
              "--resume",
              run.toString(),
              "--steps",
              "12",
              "--transport",
              "udp",
              "--port",
              Integer.toString(coordinatorPort),
              "--secret-file",
              secret.toString(),
              "--export-weights",
              weights.toString());
      workers.awaitExit(Duration.ofSeconds(15));
    } finally {
      workers.destroy();
    }

    assertEquals(0, resumed.code(), resumed.all());
    assertTrue(resumed.out().contains("resuming from"), resumed.out());
    assertSameRun(straight(config, 12), run, weights);
  }

  /** A run secret as the README makes one: random hex, readable by this user only. */
  private Path secretFile() throws IOException {
    final Path secret = dir.resolve("secret");
    Files.createFile(
        secret, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    Files.writeString(secret, JoinAuth.newSecretHex(new SecureRandom()));
    return secret;
  }

  private static int freePort() throws IOException {
    try (DatagramSocket s = new DatagramSocket(0)) {
      return s.getLocalPort();
    }
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = '|',
      value = {
        "launch --resume EMPTY|EMPTY holds no run",
        "coordinator --resume EMPTY --secret-file SECRET|EMPTY holds no run",
        "launch --resume EMPTY --run-dir OTHER|in --run-dir:",
        "coordinator --resume EMPTY --run-dir OTHER --secret-file SECRET|in --run-dir:",
        "train --resume EMPTY --init-weights W.npz|in --init-weights:"
      })
  void aResumeThatCannotWorkIsRefusedBeforeAnyWorkerStarts(
      final String command, final String expected) throws Exception {
    final Path empty = Files.createDirectories(dir.resolve("empty"));
    final Path secret = secretFile();
    final String[] args =
        Arrays.stream(command.split(" "))
            .map(
                a ->
                    a.replace("EMPTY", empty.toString())
                        .replace("OTHER", dir.resolve("other").toString())
                        .replace("SECRET", secret.toString()))
            .toArray(String[]::new);

    final CliRun r = cli(args);

    assertEquals(2, r.code(), r.all());
    assertTrue(r.err().startsWith("error: "), r.err());
    assertTrue(r.err().contains(expected.replace("EMPTY", empty.toString())), r.err());
    assertFalse(r.out().contains("[tower"), "no worker started: " + r.out());
    assertTrue(Files.notExists(dir.resolve("other")), "nothing written to --run-dir");
  }
}
