package io.synctower.common.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class LayerNamesTest {
  @Test
  void shouldMatchAPrefixOnlyAtADotBoundary() {
    assertTrue(LayerNames.matches("layer1", "layer1"));
    assertTrue(LayerNames.matches("layer1.0.conv1", "layer1"));
    assertTrue(LayerNames.matches("layer2.0.downsample.0", "layer2.0.downsample"));
    assertFalse(LayerNames.matches("layer10.0.conv1", "layer1"));
    assertFalse(LayerNames.matches("layer1", "layer1.0"));
    assertFalse(LayerNames.matches("layer1.0.conv1", "layer1.0.conv"));
  }

  @Test
  void shouldListUnmatchedEntriesAndTopLevelGroupsInOrder() {
    final List<String> names =
        List.of("conv1", "bn1", "layer1.0.conv1", "layer1.1.conv1", "layer10.0.conv1", "fc");
    assertEquals(
        List.of("layer2", "layer1.2"),
        LayerNames.unmatched(List.of("layer1", "layer2", "layer10", "layer1.2", "layer2"), names));
    assertEquals(List.of("conv1", "bn1", "layer1", "layer10", "fc"), LayerNames.groups(names));
  }

  @Test
  void shouldWriteASelectionWithWholeGroupsAsPrefixes() {
    final List<String> names =
        List.of(
            "conv1",
            "bn1",
            "relu",
            "layer1.0.conv1",
            "layer1.0.bn1",
            "layer2.0.conv1",
            "layer2.0.bn1",
            "fc");
    assertEquals(
        List.of("conv1", "bn1", "layer1", "layer2.0.conv1"),
        LayerNames.shortest(
            List.of("layer2.0.conv1", "conv1", "bn1", "layer1.0.conv1", "layer1.0.bn1"), names));
  }

  @Test
  void shouldSplitAKeyAtItsLastDot() {
    assertEquals("layer2.0.downsample.1", LayerNames.layerOf("layer2.0.downsample.1.running_var"));
    assertEquals("running_var", LayerNames.tensorOf("layer2.0.downsample.1.running_var"));
  }
}
