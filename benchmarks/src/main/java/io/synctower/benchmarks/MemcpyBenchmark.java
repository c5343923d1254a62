package io.synctower.benchmarks;

import io.synctower.common.backend.NativeVariant;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The memory-bandwidth baseline for the all-reduce figures, at the same sizes: one copy of {@code
 * bytes} per call, as {@code System.arraycopy} between two heap arrays (one thread: what one member
 * moving its share of a buffer can do) and as ND4J's {@code INDArray.assign} of float32 arrays (the
 * copy the in-process collective uses; ND4J may split it over its threads). Up to about 1 MiB the
 * data stays in cache, so those sizes measure cache, not memory, bandwidth.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(
    value = 2,
    jvmArgsAppend = {Jvm.ADD_EXPORTS, Jvm.HEAP, Jvm.QUIET_LOGS})
public class MemcpyBenchmark {
  /** Bytes copied per call. */
  @Param({"4096", "262144", "1048576", "16777216", "67108864"})
  public long bytes;

  private byte[] from;
  private byte[] to;
  private INDArray source;
  private INDArray target;

  @Setup
  public void setUp() {
    NativeVariant.select();
    final int n = Math.toIntExact(bytes);
    from = new byte[n];
    to = new byte[n];
    Arrays.fill(from, (byte) 1);
    source = Nd4j.ones(DataType.FLOAT, Sizes.floats(bytes));
    target = Nd4j.zeros(DataType.FLOAT, Sizes.floats(bytes));
  }

  @Benchmark
  public byte[] arraycopy() {
    System.arraycopy(from, 0, to, 0, from.length);
    return to;
  }

  @Benchmark
  public INDArray ndAssign() {
    return target.assign(source);
  }
}
