package io.synctower.coordinator.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.checkpoint.WeightLayout;
import io.synctower.common.checkpoint.WeightsFile;
import io.synctower.common.config.ConfigLoader;
import io.synctower.common.config.RunConfig;
import io.synctower.common.data.IdxDataset;
import io.synctower.common.data.Npy;
import io.synctower.common.data.NpyArray;
import io.synctower.common.data.NpyDtype;
import io.synctower.common.data.Npz;
import io.synctower.worker.assembly.Replicas;
import io.synctower.worker.assembly.TrainingData;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.GZIPOutputStream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The parser attacks of issue 12 through {@code train}, as a user meets them: each is exit code 2
 * with {@code error: } and a message naming the file (and entry or key) and the problem, and no
 * stack trace.
 */
class ParserBadInputCliTest {
  private static final String MODEL =
      """
      name: parsers
      model:
        layers:
          - {type: conv2d, filters: 2, kernel: 3}
          - {type: batchnorm}
          - {type: relu}
          - {type: flatten}
          - {type: dense, units: 16}
      training:
        batchSize: 4
      """;

  @TempDir Path dir;

  private CliRun train(final String data, final String... extra) throws Exception {
    final Path config = dir.resolve("c.yaml");
    Files.writeString(config, MODEL + "data:\n  train: " + data + "\n");
    final String[] base = {
      "train",
      "--config",
      config.toString(),
      "--steps",
      "1",
      "--no-progress",
      "--run-dir",
      dir.resolve("run").toString()
    };
    final String[] args = new String[base.length + extra.length];
    System.arraycopy(base, 0, args, 0, base.length);
    System.arraycopy(extra, 0, args, base.length, extra.length);
    return CliRun.of(args);
  }

  /**
   * Exit 2, one {@code error:} naming {@code file}, every {@code expected} part, no stack trace.
   */
  private static void assertBadInput(final CliRun run, final Path file, final String... expected) {
    final String all = run.all();
    assertEquals(2, run.code(), all);
    assertTrue(run.err().startsWith("error: "), all);
    assertTrue(run.err().contains(file.toString()), all);
    for (final String part : expected) {
      assertTrue(all.contains(part), "expected '" + part + "' in: " + all);
    }
    assertFalse(all.contains("\tat "), all);
    assertFalse(all.contains("Exception in thread"), all);
    assertFalse(all.contains("Caused by"), all);
  }

  private static byte[] npy(final String header) {
    final byte[] text = header.getBytes(StandardCharsets.ISO_8859_1);
    final byte[] out = new byte[12 + text.length];
    out[0] = (byte) 0x93;
    System.arraycopy("NUMPY".getBytes(StandardCharsets.US_ASCII), 0, out, 1, 5);
    out[6] = 2;
    for (int k = 0; k < 4; k++) {
      out[8 + k] = (byte) (text.length >>> (8 * k));
    }
    System.arraycopy(text, 0, out, 12, text.length);
    return out;
  }

  private Path npzWithX(final byte[] x) throws Exception {
    final Path file = dir.resolve("d.npz");
    try (ZipOutputStream zip = new ZipOutputStream(Files.newOutputStream(file))) {
      zip.putNextEntry(new ZipEntry("x.npy"));
      zip.write(x);
      zip.closeEntry();
      zip.putNextEntry(new ZipEntry("y.npy"));
      final ByteArrayOutputStream y = new ByteArrayOutputStream();
      Npy.write(y, NpyArray.ofLongs(new long[8], 8));
      zip.write(y.toByteArray());
      zip.closeEntry();
    }
    return file;
  }

  @Test
  void anEmptySampleDimensionInAnNpzDataset() throws Exception {
    final Path file = dir.resolve("d.npz");
    final Map<String, NpyArray> arrays = new LinkedHashMap<>();
    arrays.put("x", NpyArray.ofFloats(new float[0], 40, 0, 8, 8));
    arrays.put("y", NpyArray.ofLongs(new long[40], 40));
    Npz.write(file, arrays, false);
    assertBadInput(train("{type: npz, path: d.npz}"), file, "dimension 1 is 0");
  }

  @Test
  void a60000DeepNpyHeader() throws Exception {
    final Path file =
        npzWithX(npy("{'descr': '<f4', 'fortran_order': False, 'shape': " + "[".repeat(60_000)));
    assertBadInput(train("{type: npz, path: d.npz}"), file, "x.npy", "nested deeper than");
  }

  @Test
  void anNpyShapeWhoseSizeWrapsToZero() throws Exception {
    final Path file =
        npzWithX(
            npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2305843009213693952, 1), }\n"));
    assertBadInput(train("{type: npz, path: d.npz}"), file, "x.npy", "2^63");
  }

  private static byte[] idx(final int magic, final long... dims) {
    final byte[] b = new byte[4 + 4 * dims.length];
    put(b, 0, magic);
    for (int i = 0; i < dims.length; i++) {
      put(b, 4 + 4 * i, dims[i]);
    }
    return b;
  }

  private static void put(final byte[] b, final int at, final long v) {
    for (int k = 0; k < 4; k++) {
      b[at + k] = (byte) (v >>> (24 - 8 * k));
    }
  }

  @Test
  void anIdxHeaderWhoseSizeWrapsToZero() throws Exception {
    final Path images =
        Files.write(dir.resolve("img"), idx(IdxDataset.IMAGES_MAGIC, 1L << 22, 1L << 21, 1L << 21));
    Files.write(dir.resolve("lab"), idx(IdxDataset.LABELS_MAGIC, 0));
    assertBadInput(train("{type: idx, images: img, labels: lab}"), images, "more than 2^63 bytes");
  }

  @Test
  void anIdxGzipThatInflatesPastItsHeader() throws Exception {
    final byte[] header = idx(IdxDataset.IMAGES_MAGIC, 8, 8, 8);
    final byte[] body = new byte[header.length + 8 * 8 * 8 + (32 << 20)];
    System.arraycopy(header, 0, body, 0, header.length);
    final Path images = dir.resolve("img.gz");
    try (GZIPOutputStream gz = new GZIPOutputStream(Files.newOutputStream(images))) {
      gz.write(body);
    }
    final byte[] labels = new byte[8 + 8];
    System.arraycopy(idx(IdxDataset.LABELS_MAGIC, 8), 0, labels, 0, 8);
    Files.write(dir.resolve("lab"), labels);
    assertBadInput(
        train("{type: idx, images: img.gz, labels: lab}"), images, "decompresses to more");
  }

  @Test
  void anImageDeclaringHugeDimensions() throws Exception {
    final BufferedImage image = new BufferedImage(8, 8, BufferedImage.TYPE_INT_RGB);
    final ByteArrayOutputStream png = new ByteArrayOutputStream();
    ImageIO.write(image, "png", png);
    final byte[] bytes = png.toByteArray();
    put(bytes, 16, 60_000);
    put(bytes, 20, 60_000);
    final Path file =
        Files.write(Files.createDirectories(dir.resolve("imgs/a")).resolve("x.png"), bytes);
    Files.write(dir.resolve("imgs/b.png"), bytes); // not in a class folder: ignored
    Files.createDirectories(dir.resolve("imgs/b"));
    Files.write(dir.resolve("imgs/b/y.png"), png.toByteArray());
    assertBadInput(
        train("{type: images, root: imgs, channels: 3, height: 8, width: 8}"), file, "60000x60000");
  }

  /** The weights the CLI's model has, as a PyTorch-layout file would hold them. */
  private Map<String, NpyArray> modelWeights() throws Exception {
    final Path config = dir.resolve("m.yaml");
    Files.writeString(config, MODEL + "data:\n  train: {type: overfit, size: 16}\n");
    final RunConfig c = ConfigLoader.load(config, Map.of());
    return WeightsFile.toArrays(
        Replicas.newModel(c, TrainingData.load(c, dir)), WeightLayout.PYTORCH);
  }

  private static String keyEndingWith(final Map<String, NpyArray> arrays, final String suffix) {
    return arrays.keySet().stream().filter(k -> k.endsWith(suffix)).findFirst().orElseThrow();
  }

  @Test
  void aNegativeRunningVarianceInImportedWeights() throws Exception {
    final Map<String, NpyArray> arrays = modelWeights();
    final String key = keyEndingWith(arrays, ".running_var");
    final float[] v = arrays.get(key).toFloatArray();
    v[1] = -2f;
    arrays.put(key, NpyArray.ofFloats(v, v.length));
    final Path file = dir.resolve("w.npz");
    Npz.write(file, arrays, false);
    assertBadInput(
        train("{type: overfit, size: 16}", "--init-weights", file.toString()),
        file,
        key + " index 1 is -2.0",
        "running variance must be >= 0");
  }

  @Test
  void nanInImportedWeights() throws Exception {
    final Map<String, NpyArray> arrays = modelWeights();
    final String key = keyEndingWith(arrays, ".bias");
    final float[] v = arrays.get(key).toFloatArray();
    v[0] = Float.NaN;
    arrays.put(key, NpyArray.ofFloats(v, arrays.get(key).shape()));
    final Path file = dir.resolve("w.npz");
    Npz.write(file, arrays, false);
    assertBadInput(
        train("{type: overfit, size: 16}", "--init-weights", file.toString()),
        file,
        key + " index 0 is NaN");
  }

  @Test
  void missingKeysNameTheInitPartialFlag() throws Exception {
    final Map<String, NpyArray> arrays = modelWeights();
    final String key = keyEndingWith(arrays, ".bias");
    arrays.remove(key);
    final Path file = dir.resolve("w.npz");
    Npz.write(file, arrays, false);
    final CliRun run = train("{type: overfit, size: 16}", "--init-weights", file.toString());
    assertBadInput(run, file, key, "--init-partial");
    assertFalse(run.all().contains("new ImportOptions"), run.all());
  }

  @Test
  void aWeightsEntryDeclaringAHugeShapeIsNotRead() throws Exception {
    final Map<String, NpyArray> arrays = modelWeights();
    final String key = keyEndingWith(arrays, ".bias");
    final Path file = dir.resolve("w.npz");
    try (ZipOutputStream zip = new ZipOutputStream(Files.newOutputStream(file))) {
      for (final Map.Entry<String, NpyArray> e : arrays.entrySet()) {
        zip.putNextEntry(new ZipEntry(e.getKey() + ".npy"));
        if (e.getKey().equals(key)) {
          // 2^40 declared float32 values and no data: read, they would be 4 TiB.
          zip.write(Npy.header(NpyDtype.FLOAT32, new long[] {1L << 40}));
        } else {
          Npy.write(zip, e.getValue());
        }
        zip.closeEntry();
      }
    }
    assertBadInput(
        train("{type: overfit, size: 16}", "--init-weights", file.toString()),
        file,
        key + ": file <f4 [1099511627776]");
  }
}
