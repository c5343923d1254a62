package io.synctower.common.data;

/**
 * A test dataset whose values are a closed-form function of (index, element), so tests can compute
 * any expected value by hand: {@code pixel[i] = index + i / 1000f}, {@code label[p] = (index + p) %
 * numClasses}. Index {@code failAt} throws a {@link DataException}.
 */
final class RampDataset implements Dataset {
  private final int size;
  private final SampleShape shape;
  private final int positions;
  private final int numClasses;
  private final int failAt;

  RampDataset(final int size, final SampleShape shape, final int positions, final int numClasses) {
    this(size, shape, positions, numClasses, -1);
  }

  RampDataset(
      final int size,
      final SampleShape shape,
      final int positions,
      final int numClasses,
      final int failAt) {
    this.size = size;
    this.shape = shape;
    this.positions = positions;
    this.numClasses = numClasses;
    this.failAt = failAt;
  }

  static float value(final int index, final int element) {
    return index + element / 1000f;
  }

  static int label(final int index, final int position, final int numClasses) {
    return (index + position) % numClasses;
  }

  @Override
  public int size() {
    return size;
  }

  @Override
  public SampleShape sampleShape() {
    return shape;
  }

  @Override
  public int labelPositions() {
    return positions;
  }

  @Override
  public int numClasses() {
    return numClasses;
  }

  @Override
  public void sample(
      final int index, final float[] pixelsHwc, final int[] labels, final int labelOffset) {
    if (index == failAt) {
      throw new DataException("ramp: sample " + index + " is broken on purpose");
    }
    for (int i = 0; i < shape.elementCount(); i++) {
      pixelsHwc[i] = value(index, i);
    }
    for (int p = 0; p < positions; p++) {
      labels[labelOffset + p] = label(index, p, numClasses);
    }
  }

  @Override
  public String describe() {
    return "ramp(n=" + size + ")";
  }
}
