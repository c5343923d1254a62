package io.synctower.coordinator.cli;

import io.synctower.common.nn.Model;
import java.nio.file.Path;

/** Weight import/export for the CLI, in PyTorch layout and naming. */
final class WeightFiles {
  private WeightFiles() {}

  static void load(final Model model, final Path file) {
    throw new UnsupportedOperationException("weights interop is being merged");
  }

  static void save(final Model model, final Path file) {
    throw new UnsupportedOperationException("weights interop is being merged");
  }
}
