package io.synctower.common.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.config.ResNetPresets.Options;
import io.synctower.common.config.ResNetPresets.Preset;
import io.synctower.common.nn.LayerSpec;
import io.synctower.common.nn.ParamSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@code model.preset} in a configuration: defaults (class count from the data, width, PyTorch's BN
 * values unless the bn section sets its own), the resolved config that rebuilds the same network,
 * and clear errors.
 */
class PresetConfigTest {
  private static final String PRESET =
      """
      model:
        preset: resnet20
      data:
        train: {type: idx, images: x.idx, labels: y.idx, classes: 7}
      training:
        optimizer: {type: sgd, lr: 0.1, momentum: 0.9}
      """;

  private static RunConfig parse(final String text, final Map<String, String> overrides) {
    return ConfigLoader.parse(text, "test.yaml", overrides);
  }

  private static List<String> problems(final String text) {
    return assertThrows(ConfigException.class, () -> parse(text, Map.of())).problems();
  }

  private static void assertOneProblemContaining(final String text, final String... parts) {
    final List<String> problems = problems(text);
    assertEquals(1, problems.size(), problems.toString());
    for (final String part : parts) {
      assertTrue(problems.get(0).contains(part), () -> "'" + part + "' missing in " + problems);
    }
  }

  private static List<LayerSpec.BatchNorm> batchNorms(final List<LayerSpec> specs) {
    final List<LayerSpec.BatchNorm> out = new ArrayList<>();
    for (final LayerSpec s : specs) {
      if (s instanceof LayerSpec.BatchNorm b) {
        out.add(b);
      } else if (s instanceof LayerSpec.Residual r) {
        out.addAll(batchNorms(r.layers()));
        out.addAll(batchNorms(r.shortcut()));
      }
    }
    return out;
  }

  @Test
  void shouldBuildThePresetWithTheDatasetsClassCountAndItsDefaultWidth() {
    final RunConfig c = parse(PRESET, Map.of());
    assertEquals(
        ResNetPresets.layers(
            Preset.RESNET20,
            new Options(
                7, 16, false, ResNetPresets.PYTORCH_BN_DECAY, ResNetPresets.PYTORCH_BN_EPSILON)),
        c.model().layers());
    @SuppressWarnings("unchecked")
    final Map<String, Object> model = (Map<String, Object>) c.resolved().get("model");
    assertEquals(
        Map.of(
            "dtype",
            "float32",
            "preset",
            "resnet20",
            "classes",
            7L,
            "width",
            16L,
            "zeroInitResidual",
            false),
        Map.copyOf(model));
  }

  @Test
  void shouldReadTheResolvedConfigBackIntoTheSameNetwork() {
    final RunConfig original =
        parse(
            PRESET.replace("preset: resnet20", "preset: resnet56\n  width: 8\n  classes: 5"),
            Map.of("model.zeroInitResidual", "true"));
    final RunConfig back = parse(ConfigLoader.toYaml(original), Map.of());
    assertEquals(original.model(), back.model());
    assertEquals(ConfigLoader.toYaml(original), ConfigLoader.toYaml(back));
    // and a revision keeps it too (a run with fewer towers)
    assertEquals(original.model(), original.withTowers(2, "fewer").model());
  }

  @Test
  void shouldSwitchPresetsWithAnOverride() {
    final RunConfig c = parse(PRESET, Map.of("model.preset", "resnet18", "model.width", "8"));
    assertEquals(
        ResNetPresets.layers(Preset.RESNET18, new Options(7, 8, false, 0.9, 1e-5)),
        c.model().layers());
  }

  @Test
  void shouldUsePyTorchsBnValuesUnlessTheBnSectionSetsItsOwn() {
    for (final LayerSpec.BatchNorm bn : batchNorms(parse(PRESET, Map.of()).model().layers())) {
      assertEquals(0.9, bn.decay(), bn.name());
      assertEquals(1e-5, bn.epsilon(), bn.name());
    }
    // An explicit bn.decay (even Keras' 0.99, SyncTower's default) is the user's choice: the
    // layers take the bn section's value (NaN); the epsilon left to its default stays PyTorch's.
    final RunConfig own = parse(PRESET + "bn:\n  decay: 0.99\n", Map.of());
    for (final LayerSpec.BatchNorm bn : batchNorms(own.model().layers())) {
      assertTrue(Double.isNaN(bn.decay()), bn.name());
      assertEquals(1e-5, bn.epsilon(), bn.name());
    }
    assertEquals(0.99, own.bn().decay());
    // ... and so after a read-back of the resolved config, which writes every value out
    final RunConfig back = parse(ConfigLoader.toYaml(parse(PRESET, Map.of())), Map.of());
    for (final LayerSpec.BatchNorm bn : batchNorms(back.model().layers())) {
      assertEquals(0.9, bn.decay(), bn.name());
    }
  }

  @Test
  void shouldFreezeAPresetsLayersByPrefixKeepingEverythingElseOfTheirSpecs() {
    final List<LayerSpec> open =
        parse(PRESET, Map.of("model.zeroInitResidual", "true")).model().layers();
    final RunConfig frozen =
        parse(
            PRESET,
            Map.of("model.zeroInitResidual", "true", "model.frozen", "[conv1, bn1, layer1]"));
    final List<LayerSpec.BatchNorm> before = batchNorms(open);
    final List<LayerSpec.BatchNorm> after = batchNorms(frozen.model().layers());
    assertEquals(before.size(), after.size());
    for (int i = 0; i < before.size(); i++) {
      final LayerSpec.BatchNorm b = before.get(i);
      final LayerSpec.BatchNorm a = after.get(i);
      // bn1 of the stem and every BN of stage 1 (stage 1 is the first 3 blocks of 2 BNs each)
      assertEquals(i > 6, a.trainable(), "BN " + i + " " + a.name());
      assertEquals(
          new LayerSpec.BatchNorm(b.name(), b.decay(), b.epsilon(), a.trainable(), b.gammaInit()),
          a);
    }
    assertEquals(ParamSpec.Init.ZEROS, after.get(2).gammaInit()); // layer1.0.bn2
    assertEquals(frozen.model(), parse(ConfigLoader.toYaml(frozen), Map.of()).model());
  }

  @Test
  void shouldTakeTheClassCountOfTheOverfitSetAndRequireItForImageFolders() {
    final RunConfig overfit =
        parse(
            PRESET.replace(
                "{type: idx, images: x.idx, labels: y.idx, classes: 7}",
                "{type: overfit, size: 12}"),
            Map.of());
    final LayerSpec last = overfit.model().layers().get(overfit.model().layers().size() - 1);
    assertEquals(12, ((LayerSpec.Dense) last).units());
    final String images =
        PRESET.replace(
            "{type: idx, images: x.idx, labels: y.idx, classes: 7}",
            "{type: images, root: pics, height: 32, width: 32}");
    assertOneProblemContaining(images, "model.classes", "required", "images", "sub-folder");
    final RunConfig given =
        parse(images.replace("preset: resnet20", "preset: resnet20\n  classes: 3"), Map.of());
    assertEquals(
        3,
        ((LayerSpec.Dense) given.model().layers().get(given.model().layers().size() - 1)).units());
  }

  @Test
  void shouldTakeTheClassCountOfCifarAndShapesFromTheirConfig() {
    final String idx = "{type: idx, images: x.idx, labels: y.idx, classes: 7}";
    final Map<String, Integer> expected =
        Map.of(
            "{type: cifar10, path: c}", 10,
            "{type: cifar100, path: c}", 100,
            "{type: cifar100, path: c, labels: coarse}", 20,
            "{type: shapes, classes: 5}", 5,
            "{type: shapes}", 10);
    for (final Map.Entry<String, Integer> e : expected.entrySet()) {
      final List<LayerSpec> specs =
          parse(PRESET.replace(idx, e.getKey()), Map.of()).model().layers();
      assertEquals(
          (int) e.getValue(), ((LayerSpec.Dense) specs.get(specs.size() - 1)).units(), e.getKey());
    }
  }

  @Test
  void shouldRefuseAPresetOnCaptchasSeveralLabelsPerImage() {
    assertOneProblemContaining(
        PRESET.replace("{type: idx, images: x.idx, labels: y.idx, classes: 7}", "{type: captcha}"),
        "model.preset",
        "captcha",
        "4 labels per image",
        "model.layers");
  }

  @Test
  void shouldNameEveryPresetWhenTheNameIsUnknown() {
    assertOneProblemContaining(
        PRESET.replace("resnet20", "resnet21"),
        "model.preset",
        "'resnet21' is not a preset",
        "did you mean",
        "resnet18, resnet34, resnet50, resnet20, resnet56");
  }

  @Test
  void shouldRefuseAPresetTogetherWithLayers() {
    assertOneProblemContaining(
        PRESET.replace("preset: resnet20", "preset: resnet20\n  layers:\n    - {type: relu}"),
        "model.preset",
        "not both");
  }

  @Test
  void shouldRefuseAWidthBelowOneAndPresetOptionsWithoutAPreset() {
    assertOneProblemContaining(
        PRESET.replace("preset: resnet20", "preset: resnet20\n  width: 0"),
        "model.width",
        "0 is out of range");
    final List<String> problems =
        problems(PRESET.replace("preset: resnet20", "width: 8\n  layers:\n    - {type: relu}"));
    assertEquals(1, problems.size(), problems.toString());
    assertTrue(problems.get(0).contains("model.width: an option of 'preset'"), problems::toString);
  }

  @Test
  void shouldStartABatchnormLayersGammaAtZeroWhenTheConfigSaysSo() {
    final String layers =
        PRESET.replace(
            "preset: resnet20",
            "layers:\n    - {type: batchnorm, gammaInit: zeros}\n    - {type: batchnorm}");
    final List<LayerSpec> specs = parse(layers, Map.of()).model().layers();
    assertEquals(ParamSpec.Init.ZEROS, ((LayerSpec.BatchNorm) specs.get(0)).gammaInit());
    assertEquals(ParamSpec.Init.ONES, ((LayerSpec.BatchNorm) specs.get(1)).gammaInit());
    assertOneProblemContaining(
        layers.replace("gammaInit: zeros", "gammaInit: half"), "gammaInit", "'half'");
    // a plain layer list keeps the bn section's values (NaN), as before presets
    assertTrue(Double.isNaN(((LayerSpec.BatchNorm) specs.get(1)).decay()));
    assertNotEquals(List.of(), specs);
    assertFalse(specs.stream().anyMatch(s -> s instanceof LayerSpec.Residual));
  }
}
