package io.synctower.common.checkpoint;

import io.synctower.common.nn.LayerNames;
import java.util.Objects;
import java.util.Set;

/**
 * What an import accepts.
 *
 * @param strict if true (the default), every selected model tensor must be in the file and every
 *     file key must belong to the model; if false, missing tensors keep their current (initialized)
 *     values and unknown file keys are skipped, both listed in the {@link ImportReport}, as
 *     PyTorch's {@code load_state_dict(strict=False)} does. A key present in both with the wrong
 *     shape or a non-float dtype is always an error.
 * @param onlyLayers names or name prefixes of the layers to load; empty means all. An entry selects
 *     the layer of that name and every layer below it in the dotted name tree ({@code layer1}
 *     selects {@code layer1.0.conv1}, not {@code layer10}; see {@link LayerNames}). File keys
 *     outside these layers are skipped (listed in {@link ImportReport#skipped()}), never errors, so
 *     a pretrained backbone loads from a file that still holds its old head. Every entry must
 *     select at least one layer of the model.
 */
public record ImportOptions(boolean strict, Set<String> onlyLayers) {
  /** Strict, all layers. */
  public static final ImportOptions DEFAULTS = new ImportOptions(true, Set.of());

  public ImportOptions {
    onlyLayers = Set.copyOf(Objects.requireNonNull(onlyLayers, "onlyLayers"));
  }

  /** Whether tensors of the layer named {@code layer} are loaded. */
  boolean selects(final String layer) {
    return onlyLayers.isEmpty() || LayerNames.matchesAny(layer, onlyLayers);
  }
}
