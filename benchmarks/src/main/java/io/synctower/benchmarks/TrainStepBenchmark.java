package io.synctower.benchmarks;

import io.synctower.common.backend.NativeVariant;
import io.synctower.common.config.ConfigLoader;
import io.synctower.common.config.RunConfig;
import io.synctower.common.data.BatchAssembler;
import io.synctower.common.data.EpochPermutation;
import io.synctower.common.nn.Model;
import io.synctower.common.nn.SoftmaxCrossEntropy;
import io.synctower.common.nn.StatsReducer;
import io.synctower.common.nn.StepContext;
import io.synctower.coordinator.train.Trainer;
import io.synctower.worker.StepResult;
import io.synctower.worker.Tower;
import io.synctower.worker.assembly.Replicas;
import io.synctower.worker.assembly.TrainingData;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One training step of the quick-start model ({@code configs/quickstart.yaml}, the copy embedded in
 * the coordinator jar: 3 x conv-relu-BN-pool, dropout, dense; batch 64, Adam) on one tower: {@link
 * Tower#trainStep} on the same batch every call (forward, loss, backward, the 1-member all-reduce,
 * moving-statistics update, optimizer), set up the way {@code synctower bench step} sets it up.
 * Only the dataset is smaller (640 samples instead of 12,000) so that setup is quick: the step uses
 * one batch of it.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 3)
@Measurement(iterations = 5, time = 3)
@Fork(
    value = 2,
    jvmArgsAppend = {Jvm.ADD_EXPORTS, Jvm.HEAP, Jvm.QUIET_LOGS})
public class TrainStepBenchmark {
  static final String QUICKSTART = "/io/synctower/coordinator/quickstart.yaml";

  private Tower tower;
  private INDArray x;
  private int[] labels;
  private StepContext context;
  private double learningRate;
  private int batch;
  private long step;

  @Setup
  public void setUp() throws IOException {
    NativeVariant.select();
    final RunConfig config = quickStart(Map.of("data.train.size", "640"));
    final TrainingData data = TrainingData.load(config, Path.of("."));
    final Model model = Replicas.newModel(config, data);
    tower =
        new Tower(
            model,
            new SoftmaxCrossEntropy(
                data.train().labelPositions(), data.train().numClasses(), config.model().dtype()),
            config.training().optimizer().create(model.parameters(), model.trainableRanges()));
    batch = config.training().batchSize();
    final BatchAssembler assembler = new BatchAssembler(data.train(), data.normalization());
    x = assembler.allocate(config.model().dtype(), batch);
    labels = new int[batch * data.train().labelPositions()];
    assembler.fill(EpochPermutation.of(config.seed(), 0, data.train().size()), 0, batch, x, labels);
    context =
        new StepContext(
            true,
            config.bn().training(),
            config.bn().ghostBatch(),
            StatsReducer.LOCAL,
            config.seed(),
            0,
            0,
            batch);
    learningRate = config.training().optimizer().lr();
  }

  @Benchmark
  public StepResult trainStep() {
    return tower.trainStep(x, labels, context.at(step++, 0, batch), learningRate);
  }

  /** The embedded quick-start configuration with {@code overrides} (dotted keys). */
  static RunConfig quickStart(final Map<String, String> overrides) throws IOException {
    try (InputStream in = Trainer.class.getResourceAsStream(QUICKSTART)) {
      if (in == null) {
        throw new IllegalStateException(
            QUICKSTART + " is missing from the class path: build the coordinator module first");
      }
      return ConfigLoader.parse(
          new String(in.readAllBytes(), StandardCharsets.UTF_8),
          "embedded quickstart.yaml",
          overrides);
    }
  }
}
