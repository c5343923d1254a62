package io.synctower.common.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.data.Augmentation;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@code data.augment}: absent means no augmentation and leaves the resolved config as it was;
 * given, it is read, written to the resolved config and reads back the same; every wrong value is
 * named with its key and the fix.
 */
class AugmentConfigTest {
  private static final String HEAD =
      """
      model:
        layers:
          - {type: flatten}
          - {type: dense, units: 10}
      training:
        batchSize: 8
      data:
        train: {type: overfit, size: 10}
      """;

  private static RunConfig parse(final String augment) {
    return ConfigLoader.parse(HEAD + augment, "test.yaml", Map.of());
  }

  private static void assertOneProblemContaining(final String augment, final String... parts) {
    final List<String> problems =
        assertThrows(ConfigException.class, () -> parse(augment)).problems();
    assertEquals(1, problems.size(), problems.toString());
    for (final String part : parts) {
      assertTrue(problems.get(0).contains(part), () -> "'" + part + "' missing in " + problems);
    }
  }

  @Test
  void absentMeansNoAugmentationAndNothingInTheResolvedConfig() {
    final RunConfig c = parse("");
    assertNull(c.data().augment());
    assertFalse(ConfigLoader.toYaml(c).contains("augment"), ConfigLoader.toYaml(c));
  }

  @Test
  void theCifarRecipeIsReadRecordedAndReadsBack() {
    final RunConfig c = parse("  augment: {crop: {padding: 4}, flip: true}\n");
    assertEquals(new Augmentation(4, true), c.data().augment());
    final String yaml = ConfigLoader.toYaml(c);
    assertTrue(yaml.contains("augment:") && yaml.contains("padding: 4"), yaml);
    assertEquals(
        c.data().augment(), ConfigLoader.parse(yaml, "resolved", Map.of()).data().augment());
  }

  @Test
  void eitherPartAloneIsEnough() {
    assertEquals(new Augmentation(0, true), parse("  augment: {flip: true}\n").data().augment());
    assertEquals(
        new Augmentation(2, false), parse("  augment: {crop: {padding: 2}}\n").data().augment());
    final RunConfig flipOnly = parse("  augment: {flip: true}\n");
    assertEquals(
        flipOnly.data().augment(),
        ConfigLoader.parse(ConfigLoader.toYaml(flipOnly), "resolved", Map.of()).data().augment());
  }

  @Test
  void anOverrideTurnsItOn() {
    final RunConfig c = ConfigLoader.parse(HEAD, "test.yaml", Map.of("data.augment.flip", "true"));
    assertEquals(new Augmentation(0, true), c.data().augment());
  }

  @Test
  void aCropWithoutPaddingNamesTheKeyAndTheCifarValue() {
    assertOneProblemContaining(
        "  augment: {crop: {}, flip: true}\n", "data.augment.crop.padding", "required", "4");
  }

  @Test
  void aNegativePaddingIsOutOfRange() {
    assertOneProblemContaining(
        "  augment: {crop: {padding: -1}}\n", "data.augment.crop.padding", "-1", "out of range");
  }

  @Test
  void aCropThatIsNotAMappingIsNamed() {
    assertOneProblemContaining(
        "  augment: {crop: 4, flip: true}\n", "data.augment.crop", "expected a mapping");
  }

  @Test
  void aFlipThatIsNotABooleanIsNamed() {
    assertOneProblemContaining(
        "  augment: {flip: sometimes}\n", "data.augment.flip", "true or false", "sometimes");
  }

  @Test
  void anUnknownKeyNamesTheNearestValidOne() {
    assertOneProblemContaining(
        "  augment: {flip: true, corp: {padding: 4}}\n", "data.augment.corp", "crop");
  }

  @Test
  void anEmptyAugmentIsRefusedButAnExplicitFlipFalseTurnsItOff() {
    assertOneProblemContaining(
        "  augment: {}\n", "data.augment", "crop: {padding: 4}", "flip: true", "remove");
    final RunConfig off =
        ConfigLoader.parse(
            HEAD + "  augment: {flip: true}\n", "test.yaml", Map.of("data.augment.flip", "false"));
    assertFalse(off.data().augment().changesSamples());
  }
}
