package io.synctower.common.checkpoint;

import java.util.List;

/**
 * What an import did. All names are file keys (in the file's layout, e.g. {@code fc.kernel} for
 * Keras), in model order for model keys and file order for file keys; the lists are immutable.
 *
 * @param loaded keys whose values were copied into the model
 * @param missing keys the model expected but the file lacks; their tensors kept their values
 *     (non-strict imports only; a strict import throws instead)
 * @param unexpected file keys that match no model tensor (non-strict imports only)
 * @param ignored file keys the layout always ignores, e.g. PyTorch's {@code num_batches_tracked}
 * @param skipped file keys outside {@link ImportOptions#onlyLayers()}
 */
public record ImportReport(
    List<String> loaded,
    List<String> missing,
    List<String> unexpected,
    List<String> ignored,
    List<String> skipped) {
  public ImportReport {
    loaded = List.copyOf(loaded);
    missing = List.copyOf(missing);
    unexpected = List.copyOf(unexpected);
    ignored = List.copyOf(ignored);
    skipped = List.copyOf(skipped);
  }
}
