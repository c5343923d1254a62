package io.synctower.common.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code training.accumulateSteps}: read, defaulted, and refused where it cannot work. */
class AccumulateStepsConfigTest {
  private static final String BASE =
      """
      name: t
      model:
        layers:
          - {type: conv2d, filters: 4, kernel: 3}
          - {type: batchnorm}
          - {type: flatten}
          - {type: dense, units: 10}
      data:
        train: {type: overfit, size: 10}
      training:
        batchSize: 8
      """;

  private static RunConfig parse(final String text) {
    return ConfigLoader.parse(text, "test.yaml", Map.of());
  }

  private static String problem(final String text) {
    final List<String> problems = assertThrows(ConfigException.class, () -> parse(text)).problems();
    assertEquals(1, problems.size(), problems.toString());
    return problems.get(0);
  }

  private static void assertContains(final String text, final String... parts) {
    for (final String part : parts) {
      assertTrue(text.contains(part), () -> "'" + part + "' missing in " + text);
    }
  }

  @Test
  void defaultsToOneMicroBatchAndReadsBack() {
    assertEquals(1, parse(BASE).training().accumulateSteps());
    final RunConfig four = parse(BASE + "  accumulateSteps: 4\n");
    assertEquals(4, four.training().accumulateSteps());
    assertEquals(4, parse(ConfigLoader.toYaml(four)).training().accumulateSteps());
  }

  @Test
  void refusesFewerThanOne() {
    assertContains(
        problem(BASE + "  accumulateSteps: 0\n"), "training.accumulateSteps", "0", "[1, ");
  }

  @Test
  void refusesMoreMicroBatchesThanTheSmallestShardHasSamples() {
    // 8 on 3 towers: shards 3/3/2, so 2 micro-batches fit everywhere and 3 do not.
    assertEquals(2, parse(BASE + "  accumulateSteps: 2\ntowers: 3\n").training().accumulateSteps());
    assertContains(
        problem(BASE + "  accumulateSteps: 3\ntowers: 3\n"),
        "training.accumulateSteps: 3 micro-batches",
        "training.batchSize 8 on 3 tower(s) gives shards of 2",
        "at most 2",
        "at least 9");
    assertContains(problem(BASE + "  accumulateSteps: 9\n"), "shards of 8", "at most 8");
  }

  @Test
  void oneMicroBatchStaysValidWithEmptyShards() {
    final String empty = BASE + "  allowEmptyShards: true\ntowers: 10\n";
    assertEquals(1, parse(empty).training().accumulateSteps());
    assertContains(
        problem(empty.replace("batchSize: 8", "batchSize: 8\n  accumulateSteps: 2")),
        "gives shards of 0",
        "at most 1");
  }

  @Test
  void aNewTowerCountIsCheckedAgain() {
    final RunConfig oneTower = parse(BASE + "  accumulateSteps: 4\n");
    assertEquals(4, oneTower.withTowers(2, "2 towers").training().accumulateSteps());
    assertContains(
        String.join(
            "\n",
            assertThrows(ConfigException.class, () -> oneTower.withTowers(3, "3 towers"))
                .problems()),
        "training.accumulateSteps: 4 micro-batches",
        "shards of 2");
  }
}
