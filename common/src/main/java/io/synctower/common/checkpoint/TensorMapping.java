package io.synctower.common.checkpoint;

import io.synctower.common.nn.Model;
import io.synctower.common.nn.Vectors;
import java.util.Arrays;

/**
 * Where one model tensor lives in a weight file: its key, its shape there, and how its elements are
 * ordered relative to the internal C-order layout.
 *
 * <p>The order is always an axis permutation: the internal tensor is viewed (a free reshape) with
 * shape {@code view}, its axes are permuted by {@code perm} (file axis {@code j} is view axis
 * {@code perm[j]}, as in {@code numpy.transpose}), and the result is reshaped to {@code fileShape}.
 * For example the PyTorch conv weight is view {@code [kH, kW, in, out]}, perm {@code (3, 2, 0, 1)};
 * a Keras dense kernel after a flatten of an image is view {@code [out, C, H, W]}, perm {@code (2,
 * 3, 1, 0)}, file shape {@code [H*W*C, out]}.
 */
final class TensorMapping {
  private final Model.Tensor tensor;
  private final String fileKey;
  private final long[] fileShape;
  private final long[] view;
  private final int[] perm;
  private final String layoutNote;

  private TensorMapping(
      final Model.Tensor tensor,
      final String fileKey,
      final long[] fileShape,
      final long[] view,
      final int[] perm,
      final String layoutNote) {
    this.tensor = tensor;
    this.fileKey = fileKey;
    this.fileShape = fileShape;
    this.view = view;
    this.perm = perm;
    this.layoutNote = layoutNote;
    if (product(view) != tensor.spec().length() || product(fileShape) != product(view)) {
      throw new IllegalStateException(
          "mapping of "
              + tensor.key()
              + ": view "
              + Arrays.toString(view)
              + " or file shape "
              + Arrays.toString(fileShape)
              + " does not hold "
              + tensor.spec().length()
              + " elements");
    }
  }

  /** Same element order and shape as inside the model. */
  static TensorMapping identity(final Model.Tensor tensor, final String fileKey) {
    final long[] shape = tensor.spec().shape().clone();
    return new TensorMapping(tensor, fileKey, shape, shape, identityPerm(shape.length), null);
  }

  /**
   * The internal tensor viewed as {@code view}, axes permuted by {@code perm}, then reshaped to
   * {@code fileShape}; {@code layoutNote} names the file's axes for error messages, e.g. {@code
   * "[out, in, kH, kW]"}.
   */
  static TensorMapping permuted(
      final Model.Tensor tensor,
      final String fileKey,
      final long[] view,
      final int[] perm,
      final long[] fileShape,
      final String layoutNote) {
    return new TensorMapping(tensor, fileKey, fileShape.clone(), view.clone(), perm, layoutNote);
  }

  /** {@link #permuted} whose file shape is the permuted view. */
  static TensorMapping permuted(
      final Model.Tensor tensor,
      final String fileKey,
      final long[] view,
      final int[] perm,
      final String layoutNote) {
    final long[] shape = new long[perm.length];
    for (int j = 0; j < perm.length; j++) {
      shape[j] = view[perm[j]];
    }
    return permuted(tensor, fileKey, view, perm, shape, layoutNote);
  }

  Model.Tensor tensor() {
    return tensor;
  }

  String fileKey() {
    return fileKey;
  }

  /** A copy of the shape the file must hold. */
  long[] fileShape() {
    return fileShape.clone();
  }

  /** The expected shape for messages, with the axis names where they help. */
  String describeFileShape() {
    return Arrays.toString(fileShape) + (layoutNote == null ? "" : " " + layoutNote);
  }

  /** The tensor's values in file order; allocates the returned array (the caller owns it). */
  double[] read() {
    final int n = Math.toIntExact(tensor.spec().length());
    final double[] internal = new double[n];
    Vectors.read(tensor.flat(), internal);
    final int[] gather = gather();
    final double[] file = new double[n];
    for (int f = 0; f < n; f++) {
      file[f] = internal[gather[f]];
    }
    return file;
  }

  /** Writes {@code file} (file order, {@code product(fileShape)} values) into the tensor's view. */
  void write(final double[] file) {
    final int n = Math.toIntExact(tensor.spec().length());
    final double[] internal = new double[n];
    final int[] gather = gather();
    for (int f = 0; f < n; f++) {
      internal[gather[f]] = file[f];
    }
    Vectors.write(internal, tensor.flat());
  }

  /** {@code gather[f]} = internal C-order index of the file's C-order element {@code f}. */
  private int[] gather() {
    final int rank = view.length;
    final long[] strides = new long[rank];
    long s = 1;
    for (int a = rank - 1; a >= 0; a--) {
      strides[a] = s;
      s *= view[a];
    }
    final long[] permShape = new long[rank];
    final long[] permStrides = new long[rank];
    for (int j = 0; j < rank; j++) {
      permShape[j] = view[perm[j]];
      permStrides[j] = strides[perm[j]];
    }
    final int n = Math.toIntExact(product(view));
    final int[] gather = new int[n];
    final long[] index = new long[rank];
    long at = 0;
    for (int f = 0; f < n; f++) {
      gather[f] = (int) at;
      // Odometer over the permuted shape, last axis fastest (C order).
      for (int j = rank - 1; j >= 0; j--) {
        index[j]++;
        at += permStrides[j];
        if (index[j] < permShape[j]) {
          break;
        }
        at -= index[j] * permStrides[j];
        index[j] = 0;
      }
    }
    return gather;
  }

  private static int[] identityPerm(final int rank) {
    final int[] p = new int[rank];
    for (int i = 0; i < rank; i++) {
      p[i] = i;
    }
    return p;
  }

  private static long product(final long[] shape) {
    long n = 1;
    for (final long d : shape) {
      n *= d;
    }
    return n;
  }
}
