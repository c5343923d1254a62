package io.synctower.coordinator.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.synctower.common.config.ConfigLoader;
import io.synctower.common.config.RunConfig;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The BN line of the run's start-up summary names the decay the BN layers really train with. */
class TowerPlanFormatTest {
  private static RunConfig config(final String model, final String bn) {
    return ConfigLoader.parse(
        "name: t\nmodel: "
            + model
            + "\ndata:\n  train: {type: shapes, size: 8}\n  validationSplit: 0\n"
            + bn
            + "training: {batchSize: 4}\n",
        "t",
        Map.of());
  }

  @Test
  void aPresetsBnLayersTrainWithPyTorchsDecayUnlessTheBnSectionSetsOne() {
    assertEquals("0.9", TowerPlanFormat.decays(config("{preset: resnet20, width: 2}", "")));
    assertEquals(
        "0.97",
        TowerPlanFormat.decays(config("{preset: resnet20, width: 2}", "bn: {decay: 0.97}\n")));
  }

  @Test
  void listedLayersTakeTheBnSectionsDecayOrTheirOwn() {
    final String layers =
        "{layers: [{type: conv2d, filters: 2}, {type: batchnorm}, {type: conv2d, filters: 2},"
            + " {type: batchnorm, decay: 0.5}, {type: flatten}, {type: dense, units: 10}]}";
    assertEquals("0.5, 0.99", TowerPlanFormat.decays(config(layers, "")));
  }
}
