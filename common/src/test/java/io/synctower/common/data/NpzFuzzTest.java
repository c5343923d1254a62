package io.synctower.common.data;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.testing.Fuzz;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Seeded random and mutated {@code .npz} archives (stored and deflated; bit flips, truncation,
 * forged zip size fields, edited headers): reading all arrays, one header, or a dataset's x and y
 * either works or is a {@link DataException}, within {@link Fuzz#ALLOCATION_CAP}.
 */
class NpzFuzzTest {
  @TempDir Path dir;

  @Test
  void everyArchiveReadsOrIsADataException() throws Exception {
    final Random rng = new Random(0x5EED_0002L);
    final List<byte[]> seeds = seeds();
    final Path file = dir.resolve("fuzz.npz");
    final int n = Fuzz.iterations(2000);
    int parsed = 0;
    for (int i = 0; i < n; i++) {
      final byte[] seed = seeds.get(rng.nextInt(seeds.size()));
      final byte[] input =
          switch (i % 4) {
            case 0, 1 -> Fuzz.mutate(seed, rng);
            case 2 -> Fuzz.mutateZipSizes(seed, rng);
            default -> rng.nextInt(8) == 0 ? Fuzz.randomBytes(rng, rng.nextInt(300)) : seed;
          };
      Files.write(file, input);
      final String what = "iteration " + i + " (" + Fuzz.describe(input) + ")";
      final int mode = rng.nextInt(3);
      final Throwable t =
          Fuzz.expect(
              what,
              () -> {
                switch (mode) {
                  case 0 -> Npz.read(file);
                  case 1 -> new NpzDataset(file);
                  default -> {
                    try (NpzArchive a = NpzArchive.open(file)) {
                      for (final String key : a.keys()) {
                        a.header(key);
                      }
                    }
                  }
                }
              },
              DataException.class);
      if (t == null) {
        parsed++;
      }
    }
    assertTrue(parsed > 0, "some inputs read");
  }

  private List<byte[]> seeds() throws Exception {
    final List<byte[]> seeds = new ArrayList<>();
    for (final boolean compressed : new boolean[] {false, true}) {
      final Map<String, NpyArray> arrays = new LinkedHashMap<>();
      arrays.put(
          "x", NpyArray.ofBytes(NpyDtype.UINT8, new byte[] {1, 2, 3, 4, 5, 6, 7, 8}, 2, 1, 2, 2));
      arrays.put("y", NpyArray.ofLongs(new long[] {0, 1}, 2));
      arrays.put("extra", NpyArray.ofFloats(new float[] {1, 2, 3}, 3));
      final Path f = dir.resolve("seed" + compressed + ".npz");
      Npz.write(f, arrays, compressed);
      seeds.add(Files.readAllBytes(f));
    }
    return seeds;
  }
}
