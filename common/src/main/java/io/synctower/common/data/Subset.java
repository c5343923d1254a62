package io.synctower.common.data;

import java.util.Objects;

/**
 * A view of another dataset through a list of its indices: sample {@code i} of the subset is sample
 * {@code indices[i]} of the parent. Shares the parent's samples (no copy of data); the index array
 * is copied at construction. Thread-safe if the parent is.
 */
public final class Subset implements Dataset {
  private final Dataset parent;
  private final int[] indices;
  private final String name;

  /** A subset named {@code "subset"}; see {@link #Subset(Dataset, int[], String)}. */
  public Subset(final Dataset parent, final int[] indices) {
    this(parent, indices, "subset");
  }

  /**
   * A subset of {@code parent}; indices may repeat and need not be sorted.
   *
   * @param name a short name for {@link #describe()}, e.g. {@code "train"}
   * @throws IndexOutOfBoundsException naming the position and value of the first index outside the
   *     parent
   */
  public Subset(final Dataset parent, final int[] indices, final String name) {
    this.parent = Objects.requireNonNull(parent, "parent");
    this.indices = Objects.requireNonNull(indices, "indices").clone();
    this.name = Objects.requireNonNull(name, "name");
    for (int i = 0; i < this.indices.length; i++) {
      if (this.indices[i] < 0 || this.indices[i] >= parent.size()) {
        throw new IndexOutOfBoundsException(
            "subset '"
                + name
                + "' of "
                + parent.describe()
                + ": indices["
                + i
                + "] = "
                + this.indices[i]
                + " outside 0.."
                + (parent.size() - 1));
      }
    }
  }

  /** The parent index of subset sample {@code i}. */
  public int parentIndex(final int i) {
    return indices[i];
  }

  /** The dataset this subset views. */
  public Dataset parent() {
    return parent;
  }

  @Override
  public int size() {
    return indices.length;
  }

  @Override
  public SampleShape sampleShape() {
    return parent.sampleShape();
  }

  @Override
  public int labelPositions() {
    return parent.labelPositions();
  }

  @Override
  public int numClasses() {
    return parent.numClasses();
  }

  @Override
  public void sample(
      final int index, final float[] pixelsHwc, final int[] labels, final int labelOffset) {
    if (index < 0 || index >= indices.length) {
      throw new IndexOutOfBoundsException(
          describe() + ": sample index " + index + " outside 0.." + (indices.length - 1));
    }
    parent.sample(indices[index], pixelsHwc, labels, labelOffset);
  }

  @Override
  public boolean holdsFloat64() {
    return parent.holdsFloat64();
  }

  @Override
  public void sampleFloat64(
      final int index, final double[] pixelsHwc, final int[] labels, final int labelOffset) {
    if (index < 0 || index >= indices.length) {
      throw new IndexOutOfBoundsException(
          describe() + ": sample index " + index + " outside 0.." + (indices.length - 1));
    }
    parent.sampleFloat64(indices[index], pixelsHwc, labels, labelOffset);
  }

  @Override
  public String describe() {
    return name + "(n=" + indices.length + " of " + parent.describe() + ")";
  }
}
