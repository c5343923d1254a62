package io.synctower.coordinator.doctor;

import io.synctower.common.data.Dataset;
import io.synctower.common.data.SampleShape;
import java.util.SplittableRandom;

/**
 * {@code n} 4x4 one-channel images in 4 classes that a dense layer separates in a few steps: class
 * k lights up row k (value 3 above a base of 10), plus noise in [0, 0.5) from the index. The base
 * keeps the BN inputs far from mean 0, variance 1, so moving statistics that lag behind are plain
 * to see in inference.
 */
class Blobs implements Dataset {
  static final int CLASSES = 4;
  private final int size;

  Blobs(final int size) {
    this.size = size;
  }

  @Override
  public int size() {
    return size;
  }

  @Override
  public SampleShape sampleShape() {
    return new SampleShape(1, 4, 4);
  }

  @Override
  public int labelPositions() {
    return 1;
  }

  @Override
  public int numClasses() {
    return CLASSES;
  }

  @Override
  public void sample(final int index, final float[] pixels, final int[] labels, final int offset) {
    final int label = index % CLASSES;
    final SplittableRandom noise = new SplittableRandom(index);
    for (int i = 0; i < 16; i++) {
      pixels[i] = (float) (10 + (i / 4 == label ? 3 : 0) + 0.5 * noise.nextDouble());
    }
    labels[offset] = label;
  }

  @Override
  public String describe() {
    return "blobs(n=" + size + ")";
  }
}
