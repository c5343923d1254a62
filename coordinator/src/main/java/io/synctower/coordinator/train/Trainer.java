package io.synctower.coordinator.train;

import io.synctower.common.bn.StatsReducer;
import io.synctower.common.config.ConfigException;
import io.synctower.common.config.RunConfig;
import io.synctower.common.data.Batch;
import io.synctower.common.data.BatchPlan;
import io.synctower.common.data.Dataset;
import io.synctower.common.data.EpochPermutation;
import io.synctower.common.data.Prefetcher;
import io.synctower.common.nn.Model;
import io.synctower.common.nn.ModelFactory;
import io.synctower.common.nn.Shape;
import io.synctower.common.nn.SoftmaxCrossEntropy;
import io.synctower.common.nn.StepContext;
import io.synctower.common.optim.LearningRateSchedule;
import io.synctower.common.optim.Optimizer;
import io.synctower.worker.StepResult;
import io.synctower.worker.Tower;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.IntStream;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.yaml.snakeyaml.DumperOptions;
import org.yaml.snakeyaml.Yaml;

/**
 * The single-tower training loop: epochs of seeded batches, a training step per batch, validation
 * in inference mode after each epoch, a progress bar, a per-epoch table, and {@code metrics.csv}
 * plus the resolved {@code config.yaml} in the run directory (appended and flushed every epoch, so
 * a crash loses at most the epoch in flight).
 */
public final class Trainer {
  /** Where output goes and what to do around training. */
  public record Options(Path runDir, boolean progress, PrintStream out) {}

  /**
   * What a finished run reports.
   *
   * @param trainInInference the training set evaluated in inference mode after the last step, when
   *     the run has no validation set (so a memorisation run shows whether inference agrees with
   *     training); null otherwise
   */
  public record Summary(
      Model model,
      Tower tower,
      List<EpochRecord> epochs,
      long steps,
      EpochMetrics trainInInference) {
    public EpochRecord last() {
      return epochs.get(epochs.size() - 1);
    }
  }

  private final RunConfig config;
  private final TrainingData data;
  private final Options options;
  private final Model model;
  private final Tower tower;
  private final SoftmaxCrossEntropy loss;

  public Trainer(final RunConfig config, final TrainingData data, final Options options) {
    if (config.towers() != 1) {
      throw new ConfigException(
          "towers",
          List.of(
              "towers: "
                  + config.towers()
                  + " — this build trains on one tower; multi-tower training is tracked in the"
                  + " towers issue (#3). Use towers: 1."));
    }
    this.config = config;
    this.data = data;
    this.options = options;
    final Shape input = data.inputShape();
    this.model =
        ModelFactory.build(
            config.model().layers(),
            input,
            config.model().dtype(),
            config.bn().decay(),
            config.bn().epsilon());
    checkOutputMatchesLabels(model, data.train());
    model.initialize(config.seed());
    this.loss =
        new SoftmaxCrossEntropy(
            data.train().labelPositions(), data.train().numClasses(), config.model().dtype());
    final Optimizer optimizer =
        config.training().optimizer().create(model.parameters(), model.trainableRanges());
    this.tower = new Tower(model, loss, optimizer);
  }

  /** The model's output must be [P, K] (or [K] for P = 1) for the dataset's labels. */
  static void checkOutputMatchesLabels(final Model model, final Dataset dataset) {
    final Shape out = model.outputShape();
    final int p = dataset.labelPositions();
    final int k = dataset.numClasses();
    final boolean ok =
        (p == 1 && out.rank() == 1 && out.dim(0) == k)
            || (out.rank() == 2 && out.dim(0) == p && out.dim(1) == k);
    if (!ok) {
      final String fix =
          p == 1
              ? "end the model with a dense layer of " + k + " units"
              : "end the model with a dense layer of "
                  + (p * k)
                  + " units and reshape: ["
                  + p
                  + ", "
                  + k
                  + "]";
      throw new ConfigException(
          "model.layers",
          List.of(
              "the model outputs "
                  + out
                  + " per sample but "
                  + dataset.describe()
                  + " has "
                  + p
                  + " label position(s) of "
                  + k
                  + " classes; "
                  + fix));
    }
  }

  public TrainingData data() {
    return data;
  }

  public Model model() {
    return model;
  }

  public Tower tower() {
    return tower;
  }

  /** Runs all epochs (or until {@code training.steps}); returns the per-epoch records. */
  public Summary run() throws InterruptedException {
    final RunConfig.Training t = config.training();
    final int batch = t.batchSize();
    final int batchesPerEpoch = data.train().size() / batch;
    if (batchesPerEpoch == 0) {
      throw new ConfigException(
          "training.batchSize",
          List.of(
              "batchSize "
                  + batch
                  + " is larger than the training set ("
                  + data.train().size()
                  + " samples); lower it"));
    }
    final long plannedSteps = (long) t.epochs() * batchesPerEpoch;
    final long totalSteps = t.steps() > 0 ? Math.min(t.steps(), plannedSteps) : plannedSteps;
    final double baseLr =
        t.referenceBatch() > 0
            ? LearningRateSchedule.linearScaling(t.optimizer().lr(), batch, t.referenceBatch())
            : t.optimizer().lr();
    final LearningRateSchedule schedule = t.schedule().create(baseLr, totalSteps);
    final StepContext context =
        new StepContext(
            true,
            config.bn().training(),
            config.bn().ghostBatch(),
            StatsReducer.LOCAL,
            config.seed(),
            0,
            0,
            batch);
    prepareRunDirectory();
    final PrintStream out = options.out();
    out.printf(
        Locale.ROOT,
        "model: %,d parameters (%,d trainable), input %s, output %s, dtype %s%n",
        model.parameterCount(),
        model.trainableRanges().trainableCount(),
        model.inputShape(),
        model.outputShape(),
        config.model().dtype().name().toLowerCase(Locale.ROOT));
    out.printf(
        Locale.ROOT,
        "data: train %s, validation %s; batch %d, %d steps/epoch, BN %s, optimizer %s%n",
        data.train().describe(),
        data.validation() == null ? "none" : data.validation().describe(),
        batch,
        batchesPerEpoch,
        config.bn().training().name().toLowerCase(Locale.ROOT),
        t.optimizer());
    out.println(TableFormat.header(data.train().labelPositions() > 1));

    final List<EpochRecord> records = new ArrayList<>();
    long step = 0;
    for (int epoch = 1; epoch <= t.epochs() && step < totalSteps; epoch++) {
      final long start = System.nanoTime();
      final EpochMetrics train = new EpochMetrics(data.train().labelPositions());
      final int[] order = EpochPermutation.of(config.seed(), epoch, data.train().size());
      final BatchPlan plan = BatchPlan.of(order, batch, true);
      final long stepsThisEpoch = Math.min(batchesPerEpoch, totalSteps - step);
      double lr = schedule.learningRate(step);
      try (Prefetcher prefetcher =
              Prefetcher.start(
                  data.train(),
                  data.normalization(),
                  plan,
                  config.model().dtype(),
                  config.data().prefetch());
          ProgressBar bar = progressBar("epoch " + epoch, stepsThisEpoch)) {
        for (long s = 0; s < stepsThisEpoch; s++) {
          final Batch b = prefetcher.next();
          lr = schedule.learningRate(step);
          final StepResult r =
              tower.trainStep(rows(b), b.labels(), context.at(step, 0, b.count()), lr);
          b.release();
          train.add(r.metrics());
          step++;
          if (bar != null) {
            bar.step();
            bar.setExtraMessage(String.format(Locale.ROOT, " loss %.4f", train.loss()));
          }
        }
      }
      final double trainSeconds = (System.nanoTime() - start) / 1e9;
      final EpochMetrics validation =
          data.validation() == null ? null : evaluate(data.validation());
      final EpochRecord record =
          new EpochRecord(
              epoch,
              step,
              train.loss(),
              train.accuracy(),
              train.sequenceAccuracy(),
              validation == null ? Double.NaN : validation.loss(),
              validation == null ? Double.NaN : validation.accuracy(),
              validation == null ? Double.NaN : validation.sequenceAccuracy(),
              lr,
              train.samples() / trainSeconds,
              (System.nanoTime() - start) / 1e9);
      records.add(record);
      out.println(TableFormat.row(record, data.train().labelPositions() > 1));
      appendCsv(record);
    }
    EpochMetrics trainInInference = null;
    if (data.validation() == null && !records.isEmpty()) {
      trainInInference = evaluate(data.train());
      out.printf(
          Locale.ROOT,
          "training set in inference mode (moving statistics): loss %.4f, acc %.2f%%"
              + " (last epoch in training mode: acc %.2f%%)%n",
          trainInInference.loss(),
          100 * trainInInference.accuracy(),
          100 * records.get(records.size() - 1).trainAccuracy());
    }
    return new Summary(model, tower, records, step, trainInInference);
  }

  /** Metrics of {@code dataset} in inference mode (moving statistics, no dropout). */
  public EpochMetrics evaluate(final Dataset dataset) throws InterruptedException {
    final EpochMetrics metrics = new EpochMetrics(dataset.labelPositions());
    final int[] order = IntStream.range(0, dataset.size()).toArray();
    final BatchPlan plan = BatchPlan.of(order, config.training().evalBatchSize(), false);
    try (Prefetcher prefetcher =
        Prefetcher.start(
            dataset,
            data.normalization(),
            plan,
            config.model().dtype(),
            config.data().prefetch())) {
      while (prefetcher.hasNext()) {
        final Batch b = prefetcher.next();
        metrics.add(tower.evaluate(rows(b), b.labels()));
        b.release();
      }
    }
    return metrics;
  }

  /** The filled rows of a batch buffer: a view, no copy. */
  private static INDArray rows(final Batch b) {
    return b.count() == b.x().size(0) ? b.x() : b.x().get(NDArrayIndex.interval(0, b.count()));
  }

  private ProgressBar progressBar(final String task, final long steps) {
    if (!options.progress()) {
      return null;
    }
    return new ProgressBarBuilder()
        .setTaskName(task)
        .setInitialMax(steps)
        .setStyle(ProgressBarStyle.ASCII)
        .setUpdateIntervalMillis(500)
        .showSpeed()
        .setUnit(" steps", 1)
        .build();
  }

  private void prepareRunDirectory() {
    if (options.runDir() == null) {
      return;
    }
    try {
      Files.createDirectories(options.runDir());
      final DumperOptions dump = new DumperOptions();
      dump.setDefaultFlowStyle(DumperOptions.FlowStyle.BLOCK);
      Files.writeString(
          options.runDir().resolve("config.yaml"), new Yaml(dump).dump(config.resolved()));
      Files.writeString(options.runDir().resolve("metrics.csv"), EpochRecord.CSV_HEADER + "\n");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the run directory " + options.runDir(), e);
    }
  }

  private void appendCsv(final EpochRecord record) {
    if (options.runDir() == null) {
      return;
    }
    try {
      Files.writeString(
          options.runDir().resolve("metrics.csv"),
          record.csv() + "\n",
          StandardOpenOption.APPEND,
          StandardOpenOption.SYNC);
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot append to " + options.runDir().resolve("metrics.csv"), e);
    }
  }
}
