package io.synctower.common.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class BatchAssemblerTest {
  static final SampleShape SHAPE = new SampleShape(2, 3, 4); // C=2, H=3, W=4
  static final Dataset RAMP = new RampDataset(10, SHAPE, 2, 5);

  @ParameterizedTest
  @EnumSource(names = {"FLOAT", "DOUBLE"})
  void shouldWriteSamplesToTheFirstCountRowsInNhwcAndLeaveTheRestUntouched(final DataType dtype) {
    final BatchAssembler assembler = new BatchAssembler(RAMP, null);
    final INDArray x = assembler.allocate(dtype, 4);
    x.assign(-1);
    final int[] labels = new int[8];
    java.util.Arrays.fill(labels, -1);
    final int[] indices = {7, 2, 9};
    assertEquals(2, assembler.fill(indices, 1, 2, x, labels));
    for (int row = 0; row < 4; row++) {
      for (int h = 0; h < 3; h++) {
        for (int w = 0; w < 4; w++) {
          for (int c = 0; c < 2; c++) {
            final double expected =
                row < 2 ? RampDataset.value(indices[1 + row], (h * 4 + w) * 2 + c) : -1;
            assertEquals(
                expected, x.getDouble(row, h, w, c), "row " + row + " h" + h + " w" + w + " c" + c);
          }
        }
      }
    }
    // Labels (index + position) % 5: sample 2 -> 2, 3; sample 9 -> 4, 0; rows 2-3 untouched.
    assertArrayEquals(new int[] {2, 3, 4, 0, -1, -1, -1, -1}, labels);
  }

  @Test
  void shouldNormalizeEverySampleBeforeWritingIt() {
    final Normalization norm = new Normalization(new float[] {1f, 0f}, new float[] {2f, 4f});
    final BatchAssembler assembler = new BatchAssembler(RAMP, norm);
    final INDArray x = assembler.allocate(DataType.FLOAT, 1);
    assembler.fill(new int[] {3}, 0, 1, x, new int[2]);
    // element (h=2, w=3, c=1) has flat index 23: value 3.023, channel 1 -> (3.023 - 0) / 4.
    assertEquals((RampDataset.value(3, 23) - 0f) / 4f, x.getFloat(0, 2, 3, 1));
    assertEquals((RampDataset.value(3, 22) - 1f) / 2f, x.getFloat(0, 2, 3, 0));
  }

  @Test
  void shouldRejectABatchArrayOfTheWrongShapeNamingBoth() {
    final BatchAssembler assembler = new BatchAssembler(RAMP, null);
    final INDArray chw = Nd4j.create(DataType.FLOAT, 2, 2, 3, 4);
    final IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> assembler.fill(new int[] {0}, 0, 1, chw, new int[2]));
    assertTrue(
        e.getMessage().contains("[2, 2, 3, 4]") && e.getMessage().contains("3, 4, 2]"),
        e.getMessage());
  }

  @Test
  void shouldRejectAViewBecauseItsBufferIsShared() {
    final BatchAssembler assembler = new BatchAssembler(RAMP, null);
    final INDArray big = Nd4j.create(DataType.FLOAT, 4, 3, 4, 2);
    final INDArray view = big.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(2, 4));
    assertThrows(
        IllegalArgumentException.class,
        () -> assembler.fill(new int[] {0}, 0, 1, view, new int[2]));
  }

  @Test
  void shouldRejectANormalizationForAnotherChannelCount() {
    final Normalization rgb = new Normalization(new float[3], new float[] {1, 1, 1});
    assertThrows(IllegalArgumentException.class, () -> new BatchAssembler(RAMP, rgb));
  }
}
