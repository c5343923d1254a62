package io.synctower.common.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A run changes its typed config with copies ({@link RunConfig#withOverrides}, {@link
 * RunConfig#withTowers}) that give exactly what writing the YAML and parsing it back with the
 * overrides gave, validated the same way, and leave the original untouched.
 */
class RunConfigCopiesTest {
  private static final String CONFIG =
      """
      name: t
      towers: 4
      model:
        layers:
          - {type: conv2d, filters: 4, kernel: 3}
          - {type: batchnorm}
          - {type: relu}
          - {type: flatten}
          - {type: dense, units: 10}
      data:
        train: {type: overfit, size: 16}
      bn: {sync: true, syncGroupSize: 2}
      training:
        batchSize: 8
        optimizer: {type: adadelta}
      """;

  private static final Map<String, String> SWEEP_RUN =
      Map.of(
          "towers", "2",
          "bn.sync", "false",
          "bn.syncGroupSize", "0",
          "training.batchSize", "4",
          "training.steps", "3",
          "checkpoint.every.minutes", "0");

  @Test
  void aCopyIsTheConfigTheYamlRoundTripGave() {
    final RunConfig base = ConfigLoader.parse(CONFIG, "t.yaml", Map.of());
    final RunConfig copy = base.withOverrides(SWEEP_RUN, "t.yaml for a run");
    final RunConfig reparsed =
        ConfigLoader.parse(ConfigLoader.toYaml(base), "t.yaml for a run", SWEEP_RUN);
    assertEquals(ConfigLoader.toYaml(reparsed), ConfigLoader.toYaml(copy));
    assertEquals(reparsed.towers(), copy.towers());
    assertEquals(reparsed.bn(), copy.bn());
    assertEquals(reparsed.training().batchSize(), copy.training().batchSize());
    assertEquals(reparsed.training().steps(), copy.training().steps());
    assertEquals(reparsed.checkpoint(), copy.checkpoint());
  }

  @Test
  void theOriginalIsUnchanged() {
    final RunConfig base = ConfigLoader.parse(CONFIG, "t.yaml", Map.of());
    final String before = ConfigLoader.toYaml(base);
    base.withOverrides(SWEEP_RUN, "t.yaml for a run");
    assertEquals(before, ConfigLoader.toYaml(base));
    assertEquals(4, base.towers());
  }

  @Test
  void fewerTowersAreValidatedLikeTheFile() {
    final RunConfig base = ConfigLoader.parse(CONFIG, "t.yaml", Map.of());
    assertSame(base, base.withTowers(4, "unused"));
    assertEquals(2, base.withTowers(2, "two").towers());
    final ConfigException e =
        assertThrows(ConfigException.class, () -> base.withTowers(3, "the config with 3 towers"));
    assertTrue(e.getMessage().contains("in the config with 3 towers"), e.getMessage());
    assertTrue(
        e.getMessage().contains("bn.syncGroupSize: 2 does not divide towers=3"), e.getMessage());
  }
}
