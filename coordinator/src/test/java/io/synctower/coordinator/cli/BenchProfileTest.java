package io.synctower.coordinator.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.backend.LoadedBackend;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * {@code bench step --profile}: one row per layer and direction, and the layers' medians add up to
 * no more than the step's. Structure only, no timing thresholds: each layer is timed inside the
 * step's forward (or backward) window, so per step the layers' sum is at most the step's phase, and
 * medians keep that order.
 */
class BenchProfileTest {
  // "  conv2d_1         Conv2D     forward         3.21  conv2d                   oneDNN"
  private static final Pattern ROW =
      Pattern.compile("^  (\\S+)\\s+(\\S+)\\s+(forward|backward)\\s+([\\d.]+)  (\\S+)\\s+(.+)$");

  private static final Pattern TOTAL =
      Pattern.compile(
          "profile total: layers forward ([\\d.]+) of step forward ([\\d.]+) ms,"
              + " layers backward ([\\d.]+) of step backward ([\\d.]+) ms");

  private record Row(String layer, String kind, String direction, double ms, String engine) {}

  @Test
  void everyLayerShouldBeProfiledInBothDirectionsWithinTheStep() {
    final CliRun run =
        CliRun.of(
            "bench",
            "step",
            "--set",
            "data.train.size=128",
            "--batch",
            "16",
            "--warmup",
            "1",
            "--warmup-seconds",
            "0",
            "--iterations",
            "3",
            "--profile");
    assertEquals(0, run.code(), run.all());
    final List<Row> rows = new ArrayList<>();
    Matcher total = null;
    for (final String line : run.out().split("\\R")) {
      final Matcher m = ROW.matcher(line);
      if (m.matches() && !m.group(1).equals("layer")) {
        rows.add(
            new Row(
                m.group(1), m.group(2), m.group(3), Double.parseDouble(m.group(4)), m.group(6)));
      }
      final Matcher t = TOTAL.matcher(line);
      if (t.find()) {
        total = t;
      }
    }
    // The quick-start model: 16 layers, the first (conv2d) trainable, so all run backward too.
    assertEquals(32, rows.size(), run.out());
    final List<String> forward =
        rows.stream().filter(r -> r.direction().equals("forward")).map(Row::layer).toList();
    final List<String> backward =
        new ArrayList<>(
            rows.stream().filter(r -> r.direction().equals("backward")).map(Row::layer).toList());
    Collections.reverse(backward);
    assertEquals(16, forward.size(), run.out());
    assertEquals(forward, backward, "backward rows run in reverse layer order");
    assertTrue(rows.stream().allMatch(r -> r.ms() >= 0), run.out());
    assertFalse(rows.stream().anyMatch(r -> r.engine().contains("unknown")), run.out());
    // The engine column follows the build that loaded: oneDNN convolutions only on -onednn builds.
    final boolean onednn = LoadedBackend.describe().nativeBuild().startsWith("-onednn");
    final String convEngine =
        rows.stream().filter(r -> r.kind().equals("Conv2D")).findFirst().orElseThrow().engine();
    assertEquals(onednn ? "oneDNN" : "libnd4j im2col + OpenBLAS", convEngine, run.out());
    assertTrue(total != null, "no 'profile total' line:\n" + run.out());
    final double layersForward = Double.parseDouble(total.group(1));
    final double stepForward = Double.parseDouble(total.group(2));
    final double layersBackward = Double.parseDouble(total.group(3));
    final double stepBackward = Double.parseDouble(total.group(4));
    assertTrue(layersForward > 0 && layersForward <= stepForward, total.group());
    assertTrue(layersBackward > 0 && layersBackward <= stepBackward, total.group());
    // The header names the build that loaded, the one the rows' engines describe.
    assertTrue(
        run.out().contains("native " + LoadedBackend.describe().nativePlatform() + ","), run.out());
  }
}
