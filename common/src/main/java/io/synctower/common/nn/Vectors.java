package io.synctower.common.nn;

import io.synctower.common.backend.HostMemory;
import java.nio.ByteBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Reads and writes small 1-D vectors (per-channel statistics, a few hundred values) between ND4J
 * memory and Java {@code double[]} through the native buffer's NIO view: no INDArray is allocated
 * and no per-element JNI call is made. Works on views (offset and stride honoured). Both go through
 * {@link HostMemory}, so a device backend sees the writes and the reads see the device's results.
 */
public final class Vectors {
  private Vectors() {}

  /** Copies {@code v} (1-D, FLOAT or DOUBLE) into {@code out[0 .. length)}. */
  public static void read(final INDArray v, final double[] out) {
    read(v, out, 0);
  }

  /** Copies {@code v} (1-D, FLOAT or DOUBLE) into {@code out[at .. at + length)}. */
  public static void read(final INDArray v, final double[] out, final int at) {
    final ByteBuffer bytes = HostMemory.read(v);
    final long offset = v.offset();
    final long stride = v.length() > 1 ? v.stride(v.rank() - 1) : 1;
    final int n = (int) v.length();
    if (v.dataType() == DataType.DOUBLE) {
      for (int i = 0; i < n; i++) {
        out[at + i] = bytes.getDouble((int) ((offset + i * stride) * 8));
      }
    } else if (v.dataType() == DataType.FLOAT) {
      for (int i = 0; i < n; i++) {
        out[at + i] = bytes.getFloat((int) ((offset + i * stride) * 4));
      }
    } else {
      throw new IllegalArgumentException("unsupported data type " + v.dataType());
    }
  }

  /** Copies {@code in[0 .. length)} into {@code v} (1-D, FLOAT or DOUBLE), rounding for FLOAT. */
  public static void write(final double[] in, final INDArray v) {
    HostMemory.write(v, in, Vectors::put);
  }

  private static void put(final ByteBuffer bytes, final INDArray v, final double[] in) {
    final long offset = v.offset();
    final long stride = v.length() > 1 ? v.stride(v.rank() - 1) : 1;
    final int n = (int) v.length();
    if (v.dataType() == DataType.DOUBLE) {
      for (int i = 0; i < n; i++) {
        bytes.putDouble((int) ((offset + i * stride) * 8), in[i]);
      }
    } else if (v.dataType() == DataType.FLOAT) {
      for (int i = 0; i < n; i++) {
        bytes.putFloat((int) ((offset + i * stride) * 4), (float) in[i]);
      }
    } else {
      throw new IllegalArgumentException("unsupported data type " + v.dataType());
    }
  }
}
