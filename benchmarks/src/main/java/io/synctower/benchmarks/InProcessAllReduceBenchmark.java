package io.synctower.benchmarks;

import io.synctower.common.backend.NativeVariant;
import io.synctower.common.comm.InProcessGroup;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The all-reduce of towers that are threads of one JVM ({@link InProcessGroup}: three barriers,
 * each member sums its chunk of every member's buffer, then copies the other chunks), {@value
 * #MEMBERS} members, one float32 buffer of {@code bytes} each. Time per call as member 0 sees it;
 * the report turns it into bus bandwidth, {@code 2(N-1)/N x bytes / time}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(
    value = 2,
    jvmArgsAppend = {Jvm.ADD_EXPORTS, Jvm.HEAP, Jvm.QUIET_LOGS})
public class InProcessAllReduceBenchmark {
  /** Members (tower threads) of the group. */
  public static final int MEMBERS = 2;

  /** Bytes per member and call: 4 KiB (BN statistics scale) to 64 MiB (a large gradient). */
  @Param({"4096", "262144", "1048576", "16777216", "67108864"})
  public long bytes;

  private InProcessGroup group;
  private Lockstep lockstep;

  @Setup
  public void setUp() {
    NativeVariant.select();
    group = new InProcessGroup(MEMBERS);
    final INDArray[] buffers = new INDArray[MEMBERS];
    for (int r = 0; r < MEMBERS; r++) {
      buffers[r] = Nd4j.zeros(DataType.FLOAT, Sizes.floats(bytes));
    }
    lockstep =
        new Lockstep(MEMBERS, rank -> group.member(rank).allReduceSum(buffers[rank]), group::abort);
  }

  @TearDown
  public void tearDown() throws InterruptedException {
    lockstep.close();
  }

  @Benchmark
  public void allReduce() throws Exception {
    lockstep.run();
  }
}
