package io.synctower.benchmarks;

import io.synctower.common.backend.NativeVariant;
import io.synctower.common.comm.Collective;
import io.synctower.common.comm.InProcessGroup;
import io.synctower.common.nn.BnTraining;
import io.synctower.common.nn.Shape;
import io.synctower.common.nn.StatsReducer;
import io.synctower.common.nn.StepContext;
import java.util.concurrent.TimeUnit;
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
 * SyncBN forward and backward over an {@link InProcessGroup} of {@value #TOWERS} tower threads: the
 * global batch of {@code shape} split evenly, each tower normalizing with the statistics of the
 * whole batch (forward: one all-reduce of the towers' zero-filled slots of 1 + 3C float64 values,
 * an all-gather; backward: one of 2C). The time is one tower's, for the whole group's step; compare
 * with {@code BatchNormBenchmark} {@code local} on the same global shape to see what synchronizing
 * costs on this machine.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(
    value = 2,
    jvmArgsAppend = {Jvm.ADD_EXPORTS, Jvm.HEAP, Jvm.QUIET_LOGS})
public class SyncBatchNormBenchmark {
  /** Tower threads in the sync group. */
  public static final int TOWERS = 2;

  /** Global batch x height x width x channels; the batch is split over the towers. */
  @Param({"64x14x36x32"})
  public String shape;

  private InProcessGroup group;
  private Lockstep lockstep;

  @Setup
  public void setUp() {
    NativeVariant.select();
    final int[] d = BatchNormFixture.parseShape(shape);
    if (d[0] % TOWERS != 0) {
      throw new IllegalArgumentException(
          "shape '" + shape + "': the batch must split evenly over " + TOWERS + " towers");
    }
    final int shard = d[0] / TOWERS;
    final Shape sample = Shape.image(d[1], d[2], d[3]);
    group = new InProcessGroup(TOWERS);
    final BatchNormFixture[] towers = new BatchNormFixture[TOWERS];
    final StepContext[] contexts = new StepContext[TOWERS];
    for (int r = 0; r < TOWERS; r++) {
      final Collective member = group.member(r);
      towers[r] = new BatchNormFixture(shard, sample, true, 7 + r);
      contexts[r] =
          new StepContext(
              true,
              BnTraining.SYNC,
              0,
              StatsReducer.of(r, TOWERS, member::allReduceSum),
              1,
              0,
              r * shard,
              d[0]);
    }
    lockstep =
        new Lockstep(TOWERS, rank -> towers[rank].forwardBackward(contexts[rank]), group::abort);
  }

  @TearDown
  public void tearDown() throws InterruptedException {
    lockstep.close();
  }

  @Benchmark
  public void forwardBackward() throws Exception {
    lockstep.run();
  }
}
