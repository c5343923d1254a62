package io.synctower.coordinator.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.protocol.JoinAuth;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Options of the commands that start or serve worker processes are checked before anything starts:
 * a bad worker heap, port or listening address is an error naming the option, the value and the
 * fix, exit code 2, with no worker JVM started and no transport opened.
 */
class ProcessOptionsTest {
  @TempDir Path dir;

  private Path secret() throws Exception {
    final Path secret = dir.resolve("secret");
    Files.createFile(
        secret, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    Files.writeString(secret, JoinAuth.newSecretHex(new SecureRandom()));
    return secret;
  }

  @ParameterizedTest(name = "launch {0} {1}")
  @CsvSource({
    "--worker-heap, foo, '--worker-heap ''foo'' is not a Java heap size'",
    "--worker-heap, 12q, '--worker-heap ''12q'' is not a Java heap size'",
    "--worker-heap, 1m, 'at least 64m'",
    "--port, 70000, '--port 70000 is not a UDP port: use a number from 1 to 65535'",
    "--port, 0, '--port 0 is not a UDP port'",
  })
  void launchRefusesABadWorkerOptionBeforeStartingAnyWorker(
      final String option, final String value, final String expected) {
    final long childrenBefore = ProcessHandle.current().children().count();
    final CliRun run =
        CliRun.of(
            "launch",
            "--towers",
            "2",
            option,
            value,
            "--steps",
            "1",
            "--no-progress",
            "--run-dir",
            dir.resolve("run").toString());
    assertEquals(2, run.code(), run.all());
    assertTrue(run.err().contains("error: 1 problem in " + option), run.all());
    assertTrue(run.err().contains(expected), run.all());
    assertFalse(run.all().contains("[tower"), run.all());
    assertFalse(run.all().contains("waiting for"), run.all());
    assertEquals(childrenBefore, ProcessHandle.current().children().count());
    assertFalse(Files.exists(dir.resolve("run")));
  }

  @Test
  void launchOverUdpRefusesAPortThatPutsALaterWorkerAbove65535() {
    final CliRun run =
        CliRun.of(
            "launch",
            "--towers",
            "2",
            "--transport",
            "udp",
            "--port",
            "65450",
            "--steps",
            "1",
            "--no-progress",
            "--run-dir",
            dir.resolve("run").toString());
    assertEquals(2, run.code(), run.all());
    assertTrue(
        run.err().contains("--port 65450 puts worker 1 on UDP port 65551, above 65535"), run.all());
    assertTrue(run.err().contains("use a --port of at most 65434"), run.all());
    assertFalse(run.all().contains("[tower"), run.all());
  }

  @ParameterizedTest(name = "coordinator {0} {1}")
  @CsvSource({
    "--port, 70000, '--port 70000 is not a UDP port'",
    "--port, -1, '--port -1 is not a UDP port'",
    "--bind, 127.0.0.1:40100, '--bind ''127.0.0.1:40100'' is not a host name or IP address"
        + " (the port goes in --port)'",
    "--bind, 'http://x', '--bind ''http://x'' is not a host name or IP address'",
    "--bind, no-such-host.invalid, '--bind ''no-such-host.invalid'' does not resolve'",
  })
  void coordinatorRefusesABadPortOrBindBeforeListening(
      final String option, final String value, final String expected) throws Exception {
    final CliRun run =
        CliRun.of(
            "coordinator", "--towers", "2", "--secret-file", secret().toString(), option, value);
    assertEquals(2, run.code(), run.all());
    assertTrue(run.err().contains(expected), run.all());
    assertFalse(run.all().contains("waiting for"), run.all());
  }

  @Test
  void workerRefusesABadPortBeforeJoining() throws Exception {
    final CliRun run =
        CliRun.of(
            "worker",
            "--rank",
            "0",
            "--world-size",
            "1",
            "--coordinator",
            "127.0.0.1:40100",
            "--secret-file",
            secret().toString(),
            "--port",
            "99999");
    assertEquals(2, run.code(), run.all());
    assertTrue(run.err().contains("--port 99999 is not a UDP port"), run.all());
  }

  @Test
  void aMissingSecretIsExplainedOnce() {
    final CliRun run = CliRun.of("coordinator", "--towers", "2");
    assertEquals(2, run.code(), run.all());
    assertTrue(run.err().contains("no run secret: pass --secret-file FILE"), run.all());
    assertEquals(1, run.err().split("no run secret", -1).length - 1, run.all());
    assertEquals(1, run.err().split("create one with", -1).length - 1, run.all());
  }
}
