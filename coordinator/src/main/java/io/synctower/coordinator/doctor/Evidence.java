package io.synctower.coordinator.doctor;

import io.synctower.common.config.ModelFactory;
import io.synctower.common.config.RunConfig;
import io.synctower.common.data.EpochPermutation;
import io.synctower.common.nn.LayerSpec;
import io.synctower.common.nn.Model;
import io.synctower.coordinator.train.EpochRecord;
import io.synctower.worker.assembly.TrainingData;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * What the checks look at: a run's config (resolved, with its record of defaulted settings), its
 * model under the weights to examine, its training data, its per-epoch metrics, and a sample of the
 * training set on which {@link #measurements()} are taken once, on demand, for every check.
 *
 * <p>The model is only read: measurements run on a copy (with dropout off, so a difference between
 * training and inference mode is BN's alone). The sample is the first samples of a seeded
 * permutation of the training set (the run's seed, "epoch" 0, which training never uses), rounded
 * down to whole global batches so that every statistic group has the size it had in training; at
 * least one batch.
 */
public final class Evidence {
  private final RunConfig config;
  private final Model model;
  private final TrainingData data;
  private final List<EpochRecord> epochs;
  private final int[] sample;
  private final StatisticGroups groups;
  private final Progress progress;
  private Measurements measurements;

  /**
   * @param model the weights to examine; not modified
   * @param epochs the run's metrics.csv rows, oldest first (empty if unknown)
   * @param samples how many training samples to measure on (rounded down to whole global batches,
   *     at least one batch, at most the training set)
   * @throws IllegalArgumentException if {@code samples < 1} or the training set is smaller than a
   *     global batch
   */
  public Evidence(
      final RunConfig config,
      final Model model,
      final TrainingData data,
      final List<EpochRecord> epochs,
      final int samples,
      final Progress progress) {
    this.config = Objects.requireNonNull(config, "config");
    this.model = Objects.requireNonNull(model, "model");
    this.data = Objects.requireNonNull(data, "data");
    this.epochs = List.copyOf(epochs);
    this.progress = Objects.requireNonNull(progress, "progress");
    if (samples < 1) {
      throw new IllegalArgumentException("samples must be >= 1, got " + samples);
    }
    final int batch = config.training().batchSize();
    final int size = data.train().size();
    if (size < batch) {
      throw new IllegalArgumentException(
          "the training set (" + size + " samples) is smaller than a global batch of " + batch);
    }
    final int batches = Math.max(1, Math.min(samples, size) / batch);
    this.sample = Arrays.copyOf(EpochPermutation.of(config.seed(), 0, size), batches * batch);
    this.groups = StatisticGroups.of(config);
  }

  public RunConfig config() {
    return config;
  }

  /** The run's model under the examined weights. Read it; never forward it (use a copy). */
  public Model model() {
    return model;
  }

  public TrainingData data() {
    return data;
  }

  /** The run's per-epoch metrics, oldest first; may be empty. */
  public List<EpochRecord> epochs() {
    return epochs;
  }

  /** Samples the measurements use (whole global batches). */
  public int sampleSize() {
    return sample.length;
  }

  /** How the run forms its BN statistic groups. */
  public StatisticGroups groups() {
    return groups;
  }

  /** The sample measurements; taken on the first call (three passes over the sample). */
  public Measurements measurements() {
    if (measurements == null) {
      final SampleRunner runner =
          new SampleRunner(
              data.train(), data.normalization(), sample, groups, config.model().dtype(), progress);
      measurements = Measurements.take(copyWithoutDropout(), runner);
    }
    return measurements;
  }

  /** A new replica with the model's parameters and moving statistics, its dropout rates 0. */
  Model copyWithoutDropout() {
    final List<LayerSpec> specs =
        LayerSpec.mapLeaves(
            config.model().layers(),
            spec ->
                spec instanceof LayerSpec.Dropout d ? new LayerSpec.Dropout(d.name(), 0) : spec);
    final Model copy =
        ModelFactory.build(
            specs,
            model.inputShape(),
            config.model().dtype(),
            config.bn().decay(),
            config.bn().epsilon());
    copy.parameters().assign(model.parameters());
    copy.state().assign(model.state());
    return copy;
  }
}
