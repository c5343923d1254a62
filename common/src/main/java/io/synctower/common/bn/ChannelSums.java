package io.synctower.common.bn;

import io.synctower.common.nn.Vectors;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Per-channel sums of a {@code [rows, C]} matrix (c order, contiguous) as GEMMs with rows of ones,
 * accumulated in float64, for one fixed shape. {@code INDArray.sum(out, 0)} on this shape is a
 * strided column reduction that never reaches a BLAS or oneDNN kernel and runs 13-30x slower than
 * the same sums as a matrix product (see ND4J-NOTES).
 *
 * <p>Accuracy: the rows are split into blocks of at most {@link #BLOCK_ROWS} values per channel
 * ({@link #FLOAT64_BLOCK_ROWS} for float64); each block is summed by one GEMM in the matrix's own
 * type, and the block sums are added in float64 by a second, small GEMM. A float32 sum therefore
 * rounds over at most {@value #BLOCK_ROWS} terms (error bound ~{@value #BLOCK_ROWS} x 6e-8 of the
 * sum of magnitudes, typically far less) however many rows a channel has; float64 input is summed
 * in float64 throughout.
 *
 * <p>Without copying, the first {@code blocks * BLOCK_ROWS} rows are viewed as {@code [BLOCK_ROWS,
 * blocks * C]} (c order): column {@code (b, c)} then holds rows {@code b, b + blocks, b + 2 blocks,
 * ...} of channel c, so one GEMM {@code view^T x ones[BLOCK_ROWS, 1]} (a streaming matrix-vector
 * product) yields every block's sum at once. The remaining {@code rows mod BLOCK_ROWS} rows get
 * their own GEMM. Every buffer is allocated here, once per shape; a call allocates no ND4J memory,
 * and no views for a matrix among the last four summed.
 */
final class ChannelSums {
  /**
   * Values of one channel summed in the input's type before the sum moves to float64. Small on
   * purpose: with 256 the float32 gradient of FastBatchNormTest's conv/BN model moved further from
   * its float64 run than with the old float64 column sums (2.2e-7 vs 1.7e-7); with 32 it is closer
   * (1.5e-7). The block sums are 1/32 of the input, so the float64 stage stays cheap.
   */
  static final int BLOCK_ROWS = 32;

  /**
   * The block for float64 input, where blocks are not needed for accuracy (the GEMM accumulates in
   * float64): larger blocks mean fewer block sums. 256 keeps the moving-variance check of
   * BatchNormReferenceTest (a channel at 1e4 with spread 1e-2, K = 0) on the rounding the column
   * sums gave: that check has a margin of about one ulp of (mean - K)^2, and blocks of 32 or one
   * block of all rows land one ulp off.
   */
  static final int FLOAT64_BLOCK_ROWS = 256;

  private final long rows;
  private final int channels;
  private final long blockRows;
  private final DataType dtype;
  private final long blocks;
  private final long mainRows;
  private final long remainderRows;
  private final INDArray ones;
  private final INDArray remainderOnes;
  private final INDArray blockSums;
  private final INDArray blockSumsByRow;
  private final INDArray remainderSums;
  private final INDArray remainderSumsAsRow;
  private final INDArray blockSumsAsDouble;
  private final INDArray blockPart;
  private final INDArray remainderPart;
  private final INDArray doubleOnes;
  private final INDArray total;

  /**
   * The block and remainder views of the last {@link #VIEWS} matrices summed, by identity: a layer
   * sums the same few buffers every step (its input, its scratch), and creating the two views costs
   * about 12 us a call (ND4J builds shape information), a tenth of a small layer's sum.
   */
  private static final int VIEWS = 4;

  private final INDArray[] viewed = new INDArray[VIEWS];
  private final INDArray[] mainViews = new INDArray[VIEWS];
  private final INDArray[] restViews = new INDArray[VIEWS];
  private int nextSlot;

  ChannelSums(final long rows, final int channels, final DataType dtype) {
    this.rows = rows;
    this.channels = channels;
    this.dtype = dtype;
    this.blockRows = dtype == DataType.DOUBLE ? FLOAT64_BLOCK_ROWS : BLOCK_ROWS;
    this.blocks = rows / blockRows;
    this.mainRows = blocks * blockRows;
    this.remainderRows = rows - mainRows;
    this.ones = Nd4j.ones(dtype, blockRows, 1);
    this.remainderOnes =
        remainderRows > 0
            ? ones.get(NDArrayIndex.interval(0, remainderRows), NDArrayIndex.all())
            : null;
    this.blockSums = blocks > 0 ? Nd4j.create(dtype, blocks * channels, 1) : null;
    this.blockSumsByRow = blocks > 0 ? blockSums.reshape('c', blocks, channels) : null;
    this.remainderSums = Nd4j.create(dtype, channels, 1);
    this.remainderSumsAsRow = remainderSums.reshape('c', 1, channels);
    // Row b < blocks: block b's sums; the last row: the remainder's sums (zero when none).
    this.blockSumsAsDouble = Nd4j.create(DataType.DOUBLE, blocks + 1, channels);
    this.blockPart =
        blocks > 0
            ? blockSumsAsDouble.get(NDArrayIndex.interval(0, blocks), NDArrayIndex.all())
            : null;
    this.remainderPart =
        blockSumsAsDouble.get(NDArrayIndex.interval(blocks, blocks + 1), NDArrayIndex.all());
    this.doubleOnes = Nd4j.ones(DataType.DOUBLE, 1, blocks + 1);
    this.total = Nd4j.create(DataType.DOUBLE, 1, channels);
  }

  /**
   * Writes the per-channel sums of {@code m} ({@code [rows, C]}, this instance's type, c order and
   * contiguous, e.g. a block of whole rows of a larger matrix) into {@code out[0 .. C)}.
   */
  void sum(final INDArray m, final double[] out) {
    if (m.size(0) != rows || m.size(1) != channels || m.dataType() != dtype) {
      throw new IllegalArgumentException(
          "channel sums prepared for ["
              + rows
              + ", "
              + channels
              + "] "
              + dtype
              + ", got "
              + m.shapeInfoToString());
    }
    final int slot = slotOf(m);
    if (blocks > 0) {
      Nd4j.gemm(mainViews[slot], ones, blockSums, true, false, 1.0, 0.0);
      blockPart.assign(blockSumsByRow);
    }
    if (remainderRows > 0) {
      Nd4j.gemm(restViews[slot], remainderOnes, remainderSums, true, false, 1.0, 0.0);
      remainderPart.assign(remainderSumsAsRow);
    }
    Nd4j.gemm(doubleOnes, blockSumsAsDouble, total, false, false, 1.0, 0.0);
    Vectors.read(total, out);
  }

  /** The slot holding {@code m}'s views, creating them (in the oldest slot) on a miss. */
  private int slotOf(final INDArray m) {
    for (int i = 0; i < VIEWS; i++) {
      if (viewed[i] == m) {
        return i;
      }
    }
    final int slot = nextSlot;
    nextSlot = (nextSlot + 1) % VIEWS;
    viewed[slot] = m;
    // Views, never copies: the block view regroups whole rows of a c-order contiguous matrix.
    mainViews[slot] =
        blocks > 0
            ? m.get(NDArrayIndex.interval(0, mainRows), NDArrayIndex.all())
                .reshape('c', blockRows, blocks * channels)
            : null;
    restViews[slot] =
        remainderRows > 0 ? m.get(NDArrayIndex.interval(mainRows, rows), NDArrayIndex.all()) : null;
    return slot;
  }
}
