package io.synctower.common.nn;

import java.util.Arrays;

/**
 * The per-sample shape of an activation, without the batch dimension, in SyncTower's internal
 * layout: images are {@code [H, W, C]} (NHWC, the layout the oneDNN convolutions are fastest in;
 * see README "Performance"), flat features {@code [F]}, sequence outputs {@code [P, K]}.
 */
public record Shape(int... dims) {
  public Shape {
    dims = dims.clone();
    for (final int d : dims) {
      if (d <= 0) {
        throw new IllegalArgumentException(
            "shape dimensions must be positive: " + Arrays.toString(dims));
      }
    }
  }

  public static Shape image(final int height, final int width, final int channels) {
    return new Shape(height, width, channels);
  }

  public static Shape flat(final int features) {
    return new Shape(features);
  }

  public int rank() {
    return dims.length;
  }

  public int dim(final int i) {
    return dims[i];
  }

  public boolean isImage() {
    return dims.length == 3;
  }

  public int height() {
    return requireImage()[0];
  }

  public int width() {
    return requireImage()[1];
  }

  public int channels() {
    return requireImage()[2];
  }

  /** The size of the last dimension: channels of an image, features of a vector. */
  public int last() {
    return dims[dims.length - 1];
  }

  /** Number of values per sample. */
  public long elementCount() {
    long n = 1;
    for (final int d : dims) {
      n *= d;
    }
    return n;
  }

  /** The batched shape {@code [n, dims...]} as ND4J wants it. */
  public long[] withBatch(final long n) {
    final long[] s = new long[dims.length + 1];
    s[0] = n;
    for (int i = 0; i < dims.length; i++) {
      s[i + 1] = dims[i];
    }
    return s;
  }

  private int[] requireImage() {
    if (!isImage()) {
      throw new IllegalStateException("not an image shape: " + this);
    }
    return dims;
  }

  @Override
  public boolean equals(final Object o) {
    return o instanceof Shape s && Arrays.equals(dims, s.dims);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(dims);
  }

  /** User-facing notation: images as (C,H,W) like PyTorch, others as they are. */
  @Override
  public String toString() {
    if (isImage()) {
      return "(C,H,W)=(" + dims[2] + "," + dims[0] + "," + dims[1] + ")";
    }
    return Arrays.toString(dims);
  }
}
