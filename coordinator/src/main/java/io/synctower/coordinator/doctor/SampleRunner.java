package io.synctower.coordinator.doctor;

import io.synctower.common.data.BatchAssembler;
import io.synctower.common.data.Dataset;
import io.synctower.common.data.Normalization;
import io.synctower.common.nn.Model;
import io.synctower.common.nn.SoftmaxCrossEntropy;
import io.synctower.common.nn.StepContext;
import java.util.HashMap;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Forwards the doctor's sample (whole global batches of the training set) through a model, in
 * training mode as the run's towers would (each {@link StatisticGroups} slice on its own, batch
 * statistics) or in inference mode (moving statistics), and adds up loss and accuracy.
 *
 * <p>Memory: one input array and one label array per distinct slice size, allocated on first use
 * and reused. Not thread-safe.
 */
final class SampleRunner {
  private final Dataset dataset;
  private final int[] indices;
  private final int batch;
  private final StatisticGroups groups;
  private final BatchAssembler assembler;
  private final Progress progress;
  private final Map<Integer, INDArray> inputs = new HashMap<>();
  private final Map<Integer, int[]> labels = new HashMap<>();
  private final DataType dtype;
  private final SoftmaxCrossEntropy loss;

  /**
   * @param indices the sample's dataset indices, a whole number of global batches
   */
  SampleRunner(
      final Dataset dataset,
      final Normalization normalization,
      final int[] indices,
      final StatisticGroups groups,
      final DataType dtype,
      final Progress progress) {
    if (indices.length == 0 || indices.length % groups.batch() != 0) {
      throw new IllegalArgumentException(
          indices.length + " samples are not whole global batches of " + groups.batch());
    }
    this.dataset = dataset;
    this.indices = indices;
    this.batch = groups.batch();
    this.groups = groups;
    this.assembler = new BatchAssembler(dataset, normalization);
    this.progress = progress;
    this.dtype = dtype;
    this.loss = new SoftmaxCrossEntropy(dataset.labelPositions(), dataset.numClasses(), dtype);
  }

  /** Forwards per training-mode pass. */
  long trainingForwards() {
    return (long) indices.length / batch * groups.forwards().size();
  }

  /** Forwards per inference pass. */
  long inferenceForwards() {
    return indices.length / batch;
  }

  /**
   * The sample in training mode: every slice of every global batch forwarded with batch statistics;
   * {@code afterEachForward} runs after each (e.g. {@code PreciseBn::accumulate}).
   */
  Metrics training(final Model model, final String task, final Runnable afterEachForward) {
    final Metrics.Sums sums = new Metrics.Sums(dataset.labelPositions());
    progress.start(task, trainingForwards());
    for (int from = 0; from < indices.length; from += batch) {
      for (final StatisticGroups.Slice s : groups.forwards()) {
        final INDArray x = fill(from + s.offset(), s.size());
        final INDArray logits = model.forward(x, groups.context(s.size()));
        afterEachForward.run();
        sums.add(loss.evaluate(logits, labels.get(s.size()), 0));
        progress.advance();
      }
    }
    progress.done();
    return sums.metrics();
  }

  /** The sample in inference mode (moving statistics), one global batch per forward. */
  Metrics inference(final Model model, final String task) {
    final Metrics.Sums sums = new Metrics.Sums(dataset.labelPositions());
    progress.start(task, inferenceForwards());
    for (int from = 0; from < indices.length; from += batch) {
      final INDArray x = fill(from, batch);
      sums.add(loss.evaluate(model.forward(x, StepContext.inference()), labels.get(batch), 0));
      progress.advance();
    }
    progress.done();
    return sums.metrics();
  }

  private INDArray fill(final int from, final int count) {
    final INDArray x = inputs.computeIfAbsent(count, n -> assembler.allocate(dtype, n));
    final int[] y = labels.computeIfAbsent(count, n -> new int[n * dataset.labelPositions()]);
    assembler.fill(indices, from, count, x, y);
    return x;
  }
}
