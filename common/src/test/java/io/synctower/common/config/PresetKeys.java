package io.synctower.common.config;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One reference file of presets/make_preset_keys.py: torchvision's {@code state_dict} keys (without
 * {@code num_batches_tracked}) with their PyTorch shapes, in order, and the parameter count.
 *
 * @param file the resource name, {@code <preset>-w<width>-c<classes>.txt}
 */
record PresetKeys(
    String file,
    String preset,
    int width,
    int classes,
    long parameters,
    List<String> keys,
    List<List<Long>> shapes) {

  /** Every case the script writes (its CASES list). */
  static final List<String> FILES =
      List.of(
          "resnet18-w64-c1000.txt",
          "resnet34-w64-c1000.txt",
          "resnet50-w64-c1000.txt",
          "resnet20-w16-c10.txt",
          "resnet56-w16-c10.txt",
          "resnet18-w8-c10.txt",
          "resnet50-w8-c10.txt",
          "resnet20-w8-c10.txt",
          "resnet56-w4-c100.txt");

  static PresetKeys load(final String file) {
    final String text;
    try (InputStream in = PresetKeys.class.getResourceAsStream("presets/" + file)) {
      if (in == null) {
        throw new IllegalStateException("missing test resource presets/" + file);
      }
      text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    final String[] name = file.replace(".txt", "").split("-");
    long parameters = -1;
    final List<String> keys = new ArrayList<>();
    final List<List<Long>> shapes = new ArrayList<>();
    for (final String line : text.split("\n")) {
      if (line.isBlank() || line.startsWith("#")) {
        continue;
      }
      final String[] fields = line.trim().split(" ");
      if (fields[0].equals("parameters")) {
        parameters = Long.parseLong(fields[1]);
        continue;
      }
      keys.add(fields[0]);
      shapes.add(Arrays.stream(fields).skip(1).map(Long::valueOf).toList());
    }
    return new PresetKeys(
        file,
        name[0],
        Integer.parseInt(name[1].substring(1)),
        Integer.parseInt(name[2].substring(1)),
        parameters,
        List.copyOf(keys),
        List.copyOf(shapes));
  }

  @Override
  public String toString() {
    return file;
  }
}
