package io.synctower.coordinator.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The smallest run the CLI tests train: a conv-BN-relu-dense model on 16 overfit samples. */
final class TinyConfig {
  /** 13 lines, so a test can name the line of something appended to it. */
  static final String YAML =
      """
      name: cli
      model:
        layers:
          - {type: conv2d, filters: 4, kernel: 3, stride: 2}
          - {type: batchnorm}
          - {type: relu}
          - {type: flatten}
          - {type: dense, units: 16}
      data:
        train: {type: overfit, size: 16}
        validationSplit: 0.25
      training:
        batchSize: 4
      """;

  private TinyConfig() {}

  /** Writes {@code text} as {@code dir/c.yaml}. */
  static Path write(final Path dir, final String text) throws IOException {
    final Path file = dir.resolve("c.yaml");
    Files.writeString(file, text);
    return file;
  }
}
