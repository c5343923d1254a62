package io.synctower.benchmarks;

import io.synctower.common.backend.NativeVariant;
import io.synctower.common.nn.BnTraining;
import io.synctower.common.nn.Shape;
import io.synctower.common.nn.StatsReducer;
import io.synctower.common.nn.StepContext;
import java.util.concurrent.TimeUnit;
import org.nd4j.linalg.api.ndarray.INDArray;
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
 * BN forward and backward of one tower, per mode (README "BN conventions"), on the activations of
 * the quick-start model's second BN layer by default ({@code [64, 14, 36, 32]} NHWC, 4 MiB).
 *
 * <ul>
 *   <li>{@code local}: statistics of the tower's own batch (two float64 passes), backward through
 *       them;
 *   <li>{@code ghost}: the same over virtual batches of {@value #GHOST_BATCH} samples (Hoffer et
 *       al. 2017);
 *   <li>{@code frozen}: {@code trainable: false}, moving statistics, gradient through the affine
 *       map only;
 *   <li>{@code inference}: forward only, with the moving statistics.
 * </ul>
 *
 * SyncBN needs a group of towers: {@link SyncBatchNormBenchmark}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(
    value = 2,
    jvmArgsAppend = {Jvm.ADD_EXPORTS, Jvm.HEAP, Jvm.QUIET_LOGS})
public class BatchNormBenchmark {
  /** Virtual batch size of the {@code ghost} mode. */
  public static final int GHOST_BATCH = 16;

  @Param({"local", "ghost", "frozen", "inference"})
  public String mode;

  /** Batch x height x width x channels. */
  @Param({"64x14x36x32"})
  public String shape;

  private BatchNormFixture fixture;
  private StepContext context;
  private boolean inference;

  @Setup
  public void setUp() {
    NativeVariant.select();
    final int[] d = BatchNormFixture.parseShape(shape);
    final int batch = d[0];
    final Shape sample = Shape.image(d[1], d[2], d[3]);
    inference = mode.equals("inference");
    context =
        switch (mode) {
          case "local", "frozen" -> StepContext.training(1, 0, batch);
          case "ghost" ->
              new StepContext(
                  true, BnTraining.GHOST, GHOST_BATCH, StatsReducer.LOCAL, 1, 0, 0, batch);
          case "inference" -> StepContext.inference();
          default ->
              throw new IllegalArgumentException(
                  "mode '" + mode + "': expected local, ghost, frozen or inference");
        };
    fixture = new BatchNormFixture(batch, sample, !mode.equals("frozen"), 7);
  }

  @Benchmark
  public INDArray forwardBackward() {
    return inference ? fixture.forward(context) : fixture.forwardBackward(context);
  }
}
