package io.synctower.coordinator.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code synctower doctor} as a user runs it: a healthy run exits 0 and gets its doctor.md; a run
 * with a PROBLEM exits 4 naming it; bad input exits 2 naming the option. Training prints the
 * doctor's summary unless {@code --no-doctor}.
 */
class DoctorCommandTest {
  /**
   * One step per epoch over the whole set: after 16 steps at decay 0.5 the initial variance of 1
   * weighs 0.5^16 in the moving variance (at 8 steps, 0.004 was still 4x the population's).
   */
  private static final String HEALTHY =
      """
      name: healthy
      model:
        dtype: float64
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
        epochs: 16
        batchSize: 32
        optimizer: {type: sgd, lr: 0.01}
      bn:
        decay: 0.5
      """;

  /** A frozen backbone whose BN statistics were never imported. */
  private static final String FROZEN_UNLOADED =
      HEALTHY
          .replace("stride: 2}", "stride: 2, trainable: false}")
          .replace("{type: batchnorm}", "{type: batchnorm, trainable: false}");

  @TempDir Path dir;

  private Path train(final String name, final String config, final String... more)
      throws Exception {
    final Path file = dir.resolve(name + ".yaml");
    Files.writeString(file, config);
    final Path run = dir.resolve(name);
    final String[] args = {
      "train", "--config", file.toString(), "--no-progress", "--run-dir", run.toString()
    };
    final CliRun r = CliRun.of(concat(args, more));
    assertEquals(0, r.code(), r.out() + r.err());
    return run;
  }

  private static String[] concat(final String[] a, final String[] b) {
    final String[] all = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, all, a.length, b.length);
    return all;
  }

  @Test
  void aHealthyRunExitsZeroWithOneLinePerCheckAndItsReport() throws Exception {
    final Path run = train("healthy", HEALTHY);
    final CliRun r = CliRun.of("doctor", "--run", run.toString(), "--no-progress");
    assertEquals(0, r.code(), r.out() + r.err());
    for (final String check :
        new String[] {
          "moving statistics",
          "frozen layers",
          "train vs inference",
          "statistic groups",
          "framework defaults"
        }) {
      assertTrue(r.out().contains("OK       " + check), check + " in\n" + r.out());
    }
    assertTrue(r.out().contains("sample: 32 of 32 training samples"), r.out());
    final String report = Files.readString(run.resolve("doctor.md"));
    assertTrue(report.startsWith("# BN doctor"), report);
    assertTrue(report.contains("| OK | train vs inference |"), report);
  }

  @Test
  void aRunWithAProblemExitsFourNamingTheLayerAndTheFix() throws Exception {
    final Path run = train("frozen", FROZEN_UNLOADED);
    final CliRun r = CliRun.of("doctor", "--run", run.toString(), "--no-progress");
    assertEquals(4, r.code(), r.out() + r.err());
    assertTrue(r.out().contains("PROBLEM  frozen layers         bn1 frozen"), r.out());
    assertTrue(r.out().contains("--init-layers conv1,bn1"), r.out());
    assertTrue(r.out().contains("1 problem"), r.out());
  }

  @Test
  void trainingPrintsTheDoctorsSummaryUnlessTurnedOff() throws Exception {
    final CliRun withDoctor =
        CliRun.of(
            "train",
            "--config",
            Files.writeString(dir.resolve("c.yaml"), HEALTHY).toString(),
            "--no-progress",
            "--steps",
            "2",
            "--run-dir",
            dir.resolve("a").toString());
    assertEquals(0, withDoctor.code(), withDoctor.err());
    assertTrue(withDoctor.out().contains("(sample: 32 of 32 training samples"), withDoctor.out());
    assertTrue(Files.exists(dir.resolve("a").resolve("doctor.md")));

    final CliRun without =
        CliRun.of(
            "train",
            "--config",
            dir.resolve("c.yaml").toString(),
            "--no-progress",
            "--steps",
            "2",
            "--no-doctor",
            "--run-dir",
            dir.resolve("b").toString());
    assertEquals(0, without.code(), without.err());
    assertFalse(without.out().contains("BN doctor"), without.out());
    assertFalse(Files.exists(dir.resolve("b").resolve("doctor.md")));
  }

  @Test
  void badInputExitsTwoNamingTheOptionAndTheFix() throws Exception {
    final CliRun missing = CliRun.of("doctor", "--run", dir.resolve("nope").toString());
    assertEquals(2, missing.code());
    assertTrue(
        missing.err().contains("--run") && missing.err().contains("is not a directory"),
        missing.err());

    final Path empty = Files.createDirectories(dir.resolve("empty"));
    final CliRun noCheckpoint = CliRun.of("doctor", "--run", empty.toString());
    assertEquals(2, noCheckpoint.code());
    assertTrue(noCheckpoint.err().contains("has no checkpoint"), noCheckpoint.err());

    final CliRun samples = CliRun.of("doctor", "--run", empty.toString(), "--samples", "0");
    assertEquals(2, samples.code());
    assertTrue(
        samples.err().contains("--samples") && samples.err().contains("N >= 1"), samples.err());
  }
}
