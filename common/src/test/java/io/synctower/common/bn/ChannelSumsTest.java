package io.synctower.common.bn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * {@link ChannelSums} against per-channel sums in float64 computed here, element by element: over
 * blocks and a remainder, and with its views kept per matrix, for more matrices than it keeps, for
 * a matrix whose contents change between calls, and for row blocks of a larger matrix.
 */
class ChannelSumsTest {
  private static final int C = 3;

  // 32 * 4 + 5 rows: four float32 blocks and a remainder of 5.
  private static final long ROWS = 133;

  private static INDArray random(final long seed, final long rows) {
    final SplittableRandom rng = new SplittableRandom(seed);
    final double[] v = new double[(int) (rows * C)];
    for (int i = 0; i < v.length; i++) {
      v[i] = 10 * rng.nextDouble() - 3;
    }
    return Nd4j.createFromArray(v).reshape(rows, C);
  }

  /** The float64 sums of the float32-rounded values: what ChannelSums must give to ~1e-5. */
  private static double[] expected(final INDArray m) {
    final double[] sums = new double[C];
    final double[] v = m.dup('c').reshape(m.length()).toDoubleVector();
    for (int i = 0; i < v.length; i++) {
      sums[i % C] += v[i];
    }
    return sums;
  }

  @Test
  void shouldSumEveryMatrixCorrectlyWhenItsViewsAreKeptOrReplaced() {
    final ChannelSums sums = new ChannelSums(ROWS, C, DataType.FLOAT);
    final INDArray[] matrices = new INDArray[6];
    for (int i = 0; i < matrices.length; i++) {
      matrices[i] = random(i, ROWS).castTo(DataType.FLOAT);
    }
    final double[] out = new double[C];
    // Round robin over more matrices than the views kept, twice, and back and forth.
    final int[] order = {0, 1, 2, 3, 4, 5, 0, 1, 5, 5, 2, 0, 4, 3};
    for (final int k : order) {
      sums.sum(matrices[k], out);
      assertArrayEquals(expected(matrices[k]), out, 1e-4, "matrix " + k);
    }
  }

  @Test
  void shouldFollowTheContentsOfAMatrixSummedAgain() {
    final ChannelSums sums = new ChannelSums(ROWS, C, DataType.FLOAT);
    final INDArray m = random(1, ROWS).castTo(DataType.FLOAT);
    final double[] out = new double[C];
    sums.sum(m, out);
    m.assign(random(2, ROWS).castTo(DataType.FLOAT));
    sums.sum(m, out);
    assertArrayEquals(expected(m), out, 1e-4);
  }

  @Test
  void shouldSumRowBlocksOfALargerMatrix() {
    final ChannelSums sums = new ChannelSums(ROWS, C, DataType.DOUBLE);
    final INDArray big = random(3, 3 * ROWS);
    final double[] out = new double[C];
    for (int g = 0; g < 3; g++) {
      final INDArray block =
          big.get(NDArrayIndex.interval(g * ROWS, (g + 1) * ROWS), NDArrayIndex.all());
      sums.sum(block, out);
      assertArrayEquals(expected(block), out, 1e-12, "block " + g);
    }
  }

  @Test
  void shouldRefuseAMatrixOfAnotherShape() {
    final ChannelSums sums = new ChannelSums(ROWS, C, DataType.FLOAT);
    assertThrows(
        IllegalArgumentException.class,
        () -> sums.sum(Nd4j.create(DataType.FLOAT, ROWS + 1, C), new double[C]));
  }
}
