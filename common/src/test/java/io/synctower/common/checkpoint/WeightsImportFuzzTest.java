package io.synctower.common.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.data.DataException;
import io.synctower.common.nn.Model;
import io.synctower.common.testing.Fuzz;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * Seeded random and mutated weight files ({@code --init-weights}): every import either loads or
 * throws a {@link DataException} or {@link WeightsMismatchException}, within {@link
 * Fuzz#ALLOCATION_CAP}, and a refused import leaves the model exactly as it was.
 */
class WeightsImportFuzzTest {
  @TempDir Path dir;

  @Test
  void everyFileImportsOrIsRefusedLeavingTheModelUnchanged() throws Exception {
    final Random rng = new Random(0x5EED_0005L);
    final Model model = TestModels.small(DataType.FLOAT, 1);
    TestModels.randomize(model, 2);
    final Path valid = dir.resolve("valid.npz");
    WeightsFile.save(model, valid, WeightLayout.PYTORCH);
    final Path compressed = dir.resolve("compressed.npz");
    io.synctower.common.data.Npz.write(
        compressed, WeightsFile.toArrays(model, WeightLayout.PYTORCH), true);
    final List<byte[]> seeds = List.of(Files.readAllBytes(valid), Files.readAllBytes(compressed));
    final Path file = dir.resolve("fuzz.npz");
    final int n = Fuzz.iterations(1500);
    int loaded = 0;
    for (int i = 0; i < n; i++) {
      final byte[] seed = seeds.get(rng.nextInt(seeds.size()));
      final byte[] input =
          switch (i % 3) {
            case 0 -> Fuzz.mutateZipSizes(seed, rng);
            default -> Fuzz.mutate(seed, rng);
          };
      Files.write(file, input);
      final ImportOptions options =
          switch (rng.nextInt(3)) {
            case 0 -> ImportOptions.DEFAULTS;
            case 1 -> new ImportOptions(false, Set.of());
            default -> new ImportOptions(true, Set.of("conv1", "bn1"));
          };
      final double[] before = TestModels.host(model.parameters());
      final Throwable t =
          Fuzz.expect(
              "iteration " + i + " (" + Fuzz.describe(input) + ")",
              () -> WeightsFile.load(model, file, WeightLayout.PYTORCH, options),
              DataException.class,
              WeightsMismatchException.class);
      if (t == null) {
        loaded++;
      } else {
        assertArrayEquals(before, TestModels.host(model.parameters()), "iteration " + i);
      }
    }
    assertTrue(loaded > 0, "some files load");
  }
}
