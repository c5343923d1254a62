package io.synctower.common.data;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Objects;

/**
 * An n-dimensional array as stored in a {@code .npy} file: a {@link NpyDtype}, a shape and the raw
 * little-endian element bytes in C order. Keeping the raw bytes makes round trips bit-exact for
 * every dtype (NaN payloads, -0.0 and 64-bit integers included).
 *
 * <p>Memory: the array owns one {@code byte[]}. The {@code of*} factories copy their input; {@link
 * #data()} is a read-only view (no copy); the {@code to*Array} accessors allocate and return a new
 * array the caller owns. Immutable and thread-safe.
 */
public final class NpyArray {
  private static final VarHandle F32 =
      MethodHandles.byteArrayViewVarHandle(float[].class, ByteOrder.LITTLE_ENDIAN);
  private static final VarHandle F64 =
      MethodHandles.byteArrayViewVarHandle(double[].class, ByteOrder.LITTLE_ENDIAN);
  private static final VarHandle I16 =
      MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);
  private static final VarHandle I32 =
      MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
  private static final VarHandle I64 =
      MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

  private final NpyDtype dtype;
  private final long[] shape;
  private final byte[] data;

  /**
   * Wraps {@code littleEndianData} without copying; the caller hands over ownership.
   *
   * @throws IllegalArgumentException if a dimension is negative or the byte count does not match
   *     {@code product(shape) * dtype.itemSize()}
   */
  NpyArray(final NpyDtype dtype, final long[] shape, final byte[] littleEndianData) {
    this.dtype = Objects.requireNonNull(dtype, "dtype");
    this.shape = shape.clone();
    this.data = Objects.requireNonNull(littleEndianData, "littleEndianData");
    final long expected = elementCount(this.shape) * dtype.itemSize();
    if (expected != data.length) {
      throw new IllegalArgumentException(
          "array of "
              + dtype.descr()
              + " with shape "
              + Arrays.toString(shape)
              + " needs "
              + expected
              + " bytes, got "
              + data.length);
    }
  }

  /** Number of elements of an array with this shape (1 for a scalar, shape {@code ()}). */
  static long elementCount(final long[] shape) {
    long n = 1;
    for (int i = 0; i < shape.length; i++) {
      if (shape[i] < 0) {
        throw new IllegalArgumentException(
            "dimension " + i + " of shape " + Arrays.toString(shape) + " is negative");
      }
      n = Math.multiplyExact(n, shape[i]);
    }
    return n;
  }

  /** A float32 array holding a copy of {@code values}. */
  public static NpyArray ofFloats(final float[] values, final long... shape) {
    final ByteBuffer b = allocate(NpyDtype.FLOAT32, values.length);
    b.asFloatBuffer().put(values);
    return new NpyArray(NpyDtype.FLOAT32, shape, b.array());
  }

  /** A float64 array holding a copy of {@code values}. */
  public static NpyArray ofDoubles(final double[] values, final long... shape) {
    final ByteBuffer b = allocate(NpyDtype.FLOAT64, values.length);
    b.asDoubleBuffer().put(values);
    return new NpyArray(NpyDtype.FLOAT64, shape, b.array());
  }

  /** An int32 array holding a copy of {@code values}. */
  public static NpyArray ofInts(final int[] values, final long... shape) {
    final ByteBuffer b = allocate(NpyDtype.INT32, values.length);
    b.asIntBuffer().put(values);
    return new NpyArray(NpyDtype.INT32, shape, b.array());
  }

  /** An int64 array holding a copy of {@code values}. */
  public static NpyArray ofLongs(final long[] values, final long... shape) {
    final ByteBuffer b = allocate(NpyDtype.INT64, values.length);
    b.asLongBuffer().put(values);
    return new NpyArray(NpyDtype.INT64, shape, b.array());
  }

  /** An int16 array holding a copy of {@code values}. */
  public static NpyArray ofShorts(final short[] values, final long... shape) {
    final ByteBuffer b = allocate(NpyDtype.INT16, values.length);
    b.asShortBuffer().put(values);
    return new NpyArray(NpyDtype.INT16, shape, b.array());
  }

  /**
   * A one-byte-per-element array ({@link NpyDtype#UINT8}, {@link NpyDtype#INT8} or {@link
   * NpyDtype#BOOL}) holding a copy of {@code values}.
   */
  public static NpyArray ofBytes(final NpyDtype dtype, final byte[] values, final long... shape) {
    if (dtype.itemSize() != 1) {
      throw new IllegalArgumentException("ofBytes needs a one-byte dtype, got " + dtype);
    }
    return new NpyArray(dtype, shape, values.clone());
  }

  private static ByteBuffer allocate(final NpyDtype dtype, final int count) {
    return ByteBuffer.allocate(Math.multiplyExact(count, dtype.itemSize()))
        .order(ByteOrder.LITTLE_ENDIAN);
  }

  /** The element type. */
  public NpyDtype dtype() {
    return dtype;
  }

  /** A copy of the shape; {@code []} for a scalar. */
  public long[] shape() {
    return shape.clone();
  }

  /** Number of dimensions. */
  public int rank() {
    return shape.length;
  }

  /** Size of dimension {@code axis}. */
  public long dim(final int axis) {
    return shape[axis];
  }

  /** Number of elements. */
  public int elementCount() {
    return data.length / dtype.itemSize();
  }

  /** The raw element bytes as a read-only little-endian view, positioned at 0 (no copy). */
  public ByteBuffer data() {
    return ByteBuffer.wrap(data).asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
  }

  /** Element {@code i} (flat C-order index) as a double; exact for all types but large int64. */
  public double getDouble(final int i) {
    final int at = i * dtype.itemSize();
    return switch (dtype) {
      case FLOAT32 -> (float) F32.get(data, at);
      case FLOAT64 -> (double) F64.get(data, at);
      default -> getLong(i);
    };
  }

  /**
   * Element {@code i} (flat C-order index) of an integer or bool array as a long.
   *
   * @throws IllegalStateException for float arrays
   */
  public long getLong(final int i) {
    final int at = i * dtype.itemSize();
    return switch (dtype) {
      case INT8 -> data[at];
      case UINT8 -> data[at] & 0xFF;
      case BOOL -> data[at] == 0 ? 0 : 1;
      case INT16 -> (short) I16.get(data, at);
      case INT32 -> (int) I32.get(data, at);
      case INT64 -> (long) I64.get(data, at);
      case FLOAT32, FLOAT64 ->
          throw new IllegalStateException("getLong on a " + dtype.descr() + " array");
    };
  }

  /** A new float[] of all elements (float32 bit-exact; other types converted). */
  public float[] toFloatArray() {
    final float[] out = new float[elementCount()];
    if (dtype == NpyDtype.FLOAT32) {
      data().asFloatBuffer().get(out);
    } else {
      for (int i = 0; i < out.length; i++) {
        out[i] = (float) getDouble(i);
      }
    }
    return out;
  }

  /** A new double[] of all elements (float64 bit-exact; float32 widened exactly). */
  public double[] toDoubleArray() {
    final double[] out = new double[elementCount()];
    if (dtype == NpyDtype.FLOAT64) {
      data().asDoubleBuffer().get(out);
    } else {
      for (int i = 0; i < out.length; i++) {
        out[i] = getDouble(i);
      }
    }
    return out;
  }

  /**
   * A new long[] of all elements of an integer or bool array.
   *
   * @throws IllegalStateException for float arrays
   */
  public long[] toLongArray() {
    final long[] out = new long[elementCount()];
    for (int i = 0; i < out.length; i++) {
      out[i] = getLong(i);
    }
    return out;
  }

  /** Equal if dtype, shape and every byte are equal (so NaN payloads and -0.0 count). */
  @Override
  public boolean equals(final Object o) {
    return o instanceof NpyArray a
        && a.dtype == dtype
        && Arrays.equals(a.shape, shape)
        && Arrays.equals(a.data, data);
  }

  @Override
  public int hashCode() {
    return Objects.hash(dtype, Arrays.hashCode(shape), Arrays.hashCode(data));
  }

  @Override
  public String toString() {
    return "NpyArray(" + dtype.descr() + ", shape=" + Arrays.toString(shape) + ")";
  }
}
