package io.synctower.coordinator.train;

import io.synctower.common.data.Dataset;
import io.synctower.common.data.SampleShape;

/**
 * A dataset that forwards everything to another; tests override {@link #sample} to inject faults.
 */
abstract class ForwardingDataset implements Dataset {
  protected final Dataset inner;

  ForwardingDataset(final Dataset inner) {
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
