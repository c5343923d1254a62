package io.synctower.common.data;

/**
 * A dataset that forwards everything to another; tests override what they observe or change ({@link
 * #sample} to inject faults or count calls, {@link #holdsFloat64}).
 */
public abstract class ForwardingDataset implements Dataset {
  protected final Dataset inner;

  protected ForwardingDataset(final Dataset inner) {
    this.inner = inner;
  }

  @Override
  public int size() {
    return inner.size();
  }

  @Override
  public SampleShape sampleShape() {
    return inner.sampleShape();
  }

  @Override
  public int labelPositions() {
    return inner.labelPositions();
  }

  @Override
  public int numClasses() {
    return inner.numClasses();
  }

  @Override
  public void sample(final int index, final float[] pixels, final int[] labels, final int off) {
    inner.sample(index, pixels, labels, off);
  }

  @Override
  public String describe() {
    return inner.describe();
  }
}
