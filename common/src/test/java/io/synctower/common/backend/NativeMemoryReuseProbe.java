package io.synctower.common.backend;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.api.ops.OpContext;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A child JVM's main for {@link NativeMemoryReuseTest}: runs libnd4j's {@code conv2d_bp} on a [32,
 * 78, 118, 32] float layer (the seed captcha model's second convolution at half its batch, 37.7 MB
 * per activation-sized block) as {@code Conv2D} calls it, and prints the process's minor page
 * faults per call once warm: {@code faultsPerCall=N} and {@code activationPages=P}.
 */
public final class NativeMemoryReuseProbe {
  private static final int WARM_UP = 2;
  private static final int MEASURED = 4;

  private NativeMemoryReuseProbe() {}

  public static void main(final String[] args) throws IOException {
    NativeVariant.select();
    final long[] act = {32, 78, 118, 32};
    final INDArray x = Nd4j.rand(DataType.FLOAT, act);
    final INDArray w = Nd4j.rand(DataType.FLOAT, 3, 3, 32, 32);
    final INDArray b = Nd4j.zeros(DataType.FLOAT, 32);
    final INDArray dy = Nd4j.rand(DataType.FLOAT, act);
    final INDArray dx = Nd4j.create(DataType.FLOAT, act);
    final INDArray dw = Nd4j.create(DataType.FLOAT, 3, 3, 32, 32);
    final INDArray db = Nd4j.create(DataType.FLOAT, 32);
    final DynamicCustomOp op = DynamicCustomOp.builder("conv2d_bp").build();
    final OpContext ctx = Nd4j.getExecutioner().buildContext();
    // kH, kW, sH, sW, pH, pW, dH, dW, same padding, NHWC, weights [kH, kW, in, out]: as Conv2D.
    ctx.setIArguments(3, 3, 1, 1, 0, 0, 1, 1, 1, 1, 0);
    ctx.setInputArray(0, x);
    ctx.setInputArray(1, w);
    ctx.setInputArray(2, b);
    ctx.setInputArray(3, dy);
    ctx.setOutputArray(0, dx);
    ctx.setOutputArray(1, dw);
    ctx.setOutputArray(2, db);
    for (int i = 0; i < WARM_UP; i++) {
      Nd4j.getExecutioner().exec(op, ctx);
    }
    // The fewest faults of one warm call: the heap settles after a call or two (how many varies
    // from run to run), and one settled call is what shows whether freed blocks are reused; under
    // glibc's defaults every call faults all of them in again.
    long fewest = Long.MAX_VALUE;
    for (int i = 0; i < MEASURED; i++) {
      final long before = minorFaults();
      Nd4j.getExecutioner().exec(op, ctx);
      fewest = Math.min(fewest, minorFaults() - before);
    }
    System.out.println("faultsPerCall=" + fewest);
    System.out.println("activationPages=" + x.length() * 4 / 4096);
  }

  /** Field 10 of /proc/self/stat: minor faults of this process so far. */
  private static long minorFaults() throws IOException {
    final String stat = Files.readString(Path.of("/proc/self/stat"), StandardCharsets.US_ASCII);
    // The command name (field 2) may hold spaces; fields after it start past the last ')'.
    final String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    return Long.parseLong(f[7]);
  }
}
