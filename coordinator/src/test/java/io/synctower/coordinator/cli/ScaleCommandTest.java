package io.synctower.coordinator.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.coordinator.experiments.ScalingCsv;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@code synctower scale} end to end on a tiny float64 model: the files it writes, the SyncBN
 * curves' tower-count invariance (read from each run's own steps.csv, not from the report), and bad
 * input.
 */
class ScaleCommandTest {
  // No dropout: every difference between SyncBN runs would be the tower count's.
  private static final String CONFIG =
      """
      name: tiny
      seed: 5
      model:
        dtype: float64
        layers:
          - {type: conv2d, filters: 4, kernel: 3, stride: 2}
          - {type: batchnorm}
          - {type: relu}
          - {type: flatten}
          - {type: dense, units: 24}
      data:
        train: {type: overfit, size: 24}
      training:
        epochs: 1
        batchSize: 6
        optimizer: {type: sgd, lr: 0.05}
      """;

  @TempDir Path dir;

  /**
   * {@code scale --config tiny.yaml ARGS}, without the JVM warm-up runs unless ARGS ask for them
   * (they only cost time here).
   */
  private CliRun run(final String... args) throws Exception {
    final Path cfg = dir.resolve("tiny.yaml");
    Files.writeString(cfg, CONFIG);
    final List<String> full = new ArrayList<>(List.of("scale", "--config", cfg.toString()));
    if (!List.of(args).contains("--warmup-seconds")) {
      full.addAll(List.of("--warmup-seconds", "0"));
    }
    full.addAll(List.of(args));
    return CliRun.of(full.toArray(String[]::new));
  }

  private static double[] losses(final Path stepsCsv) throws Exception {
    try (Stream<String> lines = Files.lines(stepsCsv)) {
      return lines.skip(1).mapToDouble(l -> Double.parseDouble(l.split(",")[3])).toArray();
    }
  }

  private static double largestDifference(final double[] a, final double[] b) {
    assertEquals(a.length, b.length);
    double d = 0;
    for (int i = 0; i < a.length; i++) {
      d = Math.max(d, Math.abs(a[i] - b[i]));
    }
    return d;
  }

  @Test
  void shouldWriteCsvChartsAndAReportWhereSyncBnCurvesCoincideAndLocalOnesDoNot() throws Exception {
    final Path out = dir.resolve("sweep");
    final CliRun r =
        run(
            "--towers",
            "1,2",
            "--sync-bn",
            "both",
            "--steps",
            "5",
            "--warmup",
            "1",
            "--run-dir",
            out.toString(),
            "--no-progress");
    assertEquals(0, r.code(), r.out() + r.err());
    assertTrue(r.out().contains("[4/4]"), r.out());
    assertTrue(r.out().contains("report: " + out.resolve("report.md")), r.out());

    final List<String> csv = Files.readAllLines(out.resolve("scaling.csv"));
    assertEquals(ScalingCsv.HEADER, csv.get(0));
    assertEquals(5, csv.size(), csv.toString());
    final Set<String> runs = new HashSet<>();
    for (final String row : csv.subList(1, csv.size())) {
      final String[] f = row.split(",", -1);
      assertEquals(ScalingCsv.HEADER.split(",").length, f.length, row);
      runs.add(f[0] + "/" + f[1] + "/" + f[2]);
      assertEquals("6", f[3], "strong mode keeps the global batch: " + row);
      assertEquals("4", f[5], "5 steps, 1 warm-up: " + row);
      assertTrue(Double.parseDouble(f[6]) > 0, "samples/s: " + row);
    }
    assertEquals(
        Set.of("1/sync/strong", "1/local/strong", "2/sync/strong", "2/local/strong"), runs);

    // Tower-count invariance: N towers with SyncBN compute what 1 tower does on the whole batch.
    final double[] sync1 = losses(out.resolve("towers-1-sync/steps.csv"));
    final double[] sync2 = losses(out.resolve("towers-2-sync/steps.csv"));
    final double[] local2 = losses(out.resolve("towers-2-local/steps.csv"));
    assertEquals(5, sync1.length);
    assertTrue(largestDifference(sync1, sync2) < 1e-10, "SyncBN 1 vs 2 towers");
    // Negative control: local BN on 3-sample shards does not match the whole-batch statistics.
    assertTrue(largestDifference(sync1, local2) > 1e-6, "local BN 2 towers vs 1 tower");

    final String report = Files.readString(out.resolve("report.md"));
    assertTrue(report.contains("SyncBN loss curves lie on top of each other"), report);
    assertTrue(report.contains("Local-BN loss curves differ"), report);
    final Matcher links = Pattern.compile("!\\[[^]]*]\\(([^)]+)\\)").matcher(report);
    final Set<String> linked = new HashSet<>();
    while (links.find()) {
      linked.add(links.group(1));
    }
    final Set<String> pngs = new HashSet<>();
    try (Stream<Path> files = Files.list(out)) {
      files
          .filter(p -> p.toString().endsWith(".png"))
          .forEach(p -> pngs.add(p.getFileName().toString()));
    }
    assertEquals(
        Set.of(
            "throughput.png",
            "efficiency.png",
            "step-split.png",
            "loss-sync.png",
            "loss-local.png"),
        pngs);
    assertEquals(pngs, linked, "the report links every chart, and only charts that exist");
    for (final String png : pngs) {
      final BufferedImage image = ImageIO.read(out.resolve(png).toFile());
      assertNotNull(image, png + " is not a readable image");
      assertTrue(image.getWidth() > 100 && image.getHeight() > 100, png);
    }
  }

  @Test
  void workerProcessesOverIpcComputeTheSameCurvesAsThreads() throws Exception {
    final Path threads = dir.resolve("threads");
    final Path ipc = dir.resolve("ipc");
    for (final Path out : List.of(threads, ipc)) {
      final CliRun r =
          run(
              "--towers",
              "2",
              "--sync-bn",
              "on",
              "--steps",
              "4",
              "--warmup",
              "1",
              "--transport",
              out == ipc ? "ipc" : "threads",
              "--worker-heap",
              "512m",
              "--run-dir",
              out.toString(),
              "--no-progress");
      assertEquals(0, r.code(), r.out() + r.err());
    }
    final double[] inProcess = losses(threads.resolve("towers-2-sync/steps.csv"));
    final double[] processes = losses(ipc.resolve("towers-2-sync/steps.csv"));
    assertEquals(4, processes.length);
    assertTrue(largestDifference(inProcess, processes) < 1e-12, "threads vs worker processes");
    assertTrue(
        Files.readString(ipc.resolve("report.md")).contains("worker processes over Aeron ipc"));
    assertTrue(
        Files.readString(ipc.resolve("towers-2-sync/train.log")).contains("[tower 1]"),
        "the workers' logs go to the run's train.log");
  }

  @ParameterizedTest(name = "{0} {1}")
  @CsvSource(
      delimiter = '|',
      value = {
        "--towers|0|--towers 0: 0 towers cannot train",
        "--towers|1,x|'x' is not a whole number",
        "--towers|2,2|2 appears twice",
        "--towers|1,8|--towers 8: more towers than the global batch of 6",
        "--mode|sideways|'sideways'",
        "--sync-bn|maybe|'maybe'",
        "--warmup|60|--warmup 60: must be >= 0 and below --steps 50",
        "--warmup-seconds|-1|must be a finite number >= 0, got -1.0"
      })
  void shouldRefuseBadInputWithExitCode2NamingTheOptionAndValue(
      final String option, final String value, final String expected) throws Exception {
    final CliRun r = run(option, value, "--run-dir", dir.resolve("never").toString());
    assertEquals(2, r.code(), r.out() + r.err());
    assertTrue(r.err().contains(option), r.err());
    assertTrue(r.err().contains(expected), r.err());
    assertTrue(Files.notExists(dir.resolve("never")), "nothing ran");
  }

  /**
   * Towers as threads share one JVM: untimed runs of the first configuration come first, for the
   * seconds asked, and leave nothing behind; the sweep's own runs are as without them.
   */
  @Test
  void threadsShouldWarmTheJvmUpWithDiscardedRunsOfTheFirstConfiguration() throws Exception {
    final Path out = dir.resolve("warm");
    final Path tmp = Path.of(System.getProperty("java.io.tmpdir"));
    final List<Path> scratchBefore = scratchDirectories(tmp);
    final CliRun r =
        run(
            "--towers",
            "1,2",
            "--steps",
            "4",
            "--warmup",
            "1",
            "--warmup-seconds",
            "0.5",
            "--run-dir",
            out.toString(),
            "--no-progress");
    assertEquals(0, r.code(), r.out() + r.err());
    final Matcher m =
        Pattern.compile("scale: JVM warm-up: (\\d+) untimed runs? in ([\\d.]+) s").matcher(r.out());
    assertTrue(m.find(), r.out());
    assertTrue(Integer.parseInt(m.group(1)) >= 1, m.group());
    assertTrue(Double.parseDouble(m.group(2)) >= 0.5, m.group());
    assertTrue(r.out().indexOf(m.group()) < r.out().indexOf("[1/2]"), "before the first run");
    assertEquals(3, Files.readAllLines(out.resolve("scaling.csv")).size(), "header + 2 runs");
    assertEquals(scratchBefore, scratchDirectories(tmp), "the warm-up runs' directories are gone");
  }

  private static List<Path> scratchDirectories(final Path tmp) throws Exception {
    try (Stream<Path> files = Files.list(tmp)) {
      return files
          .filter(f -> f.getFileName().toString().startsWith("synctower-scale-warm-up-"))
          .sorted()
          .toList();
    }
  }
}
