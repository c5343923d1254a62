package io.synctower.coordinator.doctor;

import io.synctower.common.data.BatchAssembler;
import io.synctower.common.data.Dataset;
import io.synctower.common.data.Normalization;
import io.synctower.common.nn.Model;
import io.synctower.common.nn.SoftmaxCrossEntropy;
import io.synctower.common.nn.StepContext;
import java.util.ArrayList;
import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Forwards the doctor's sample (whole global batches of the training set) through a model, in
 * training mode as the run's towers would (each {@link StatisticGroups} slice on its own, batch
 * statistics) or in inference mode (moving statistics), and adds up loss and accuracy.
 *
 * <p>Memory: the sample is assembled once, on first use, into one input array per slice (the
 * sample's size in the model's dtype in all) and kept for every pass, since decoding samples (a
 * captcha is drawn) costs more than forwarding them. Inference forwards the same slices: without
 * batch statistics a sample's output does not depend on its batch. Not thread-safe.
 */
final class SampleRunner {
  /** One slice of the sample, ready to forward. */
  private record Slice(INDArray x, int[] labels) {}

  private final Dataset dataset;
  private final Normalization normalization;
  private final int[] indices;
  private final StatisticGroups groups;
  private final Progress progress;
  private final DataType dtype;
  private final SoftmaxCrossEntropy loss;
  private List<Slice> slices;

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
    this.normalization = normalization;
    this.indices = indices;
    this.groups = groups;
    this.progress = progress;
    this.dtype = dtype;
    this.loss = new SoftmaxCrossEntropy(dataset.labelPositions(), dataset.numClasses(), dtype);
  }

  /**
   * The sample in training mode: every slice of every global batch forwarded with batch statistics;
   * {@code afterEachForward} runs after each (e.g. {@code PreciseBn::accumulate}).
   */
  Metrics training(final Model model, final String task, final Runnable afterEachForward) {
    return pass(model, task, true, afterEachForward);
  }

  /** The sample in inference mode (moving statistics). */
  Metrics inference(final Model model, final String task) {
    return pass(model, task, false, () -> {});
  }

  private Metrics pass(
      final Model model, final String task, final boolean training, final Runnable after) {
    final List<Slice> all = slices();
    final Metrics.Sums sums = new Metrics.Sums(dataset.labelPositions());
    progress.start(task, all.size());
    for (final Slice s : all) {
      final int n = (int) s.x().size(0);
      final INDArray logits =
          model.forward(s.x(), training ? groups.context(n) : StepContext.inference());
      after.run();
      sums.add(loss.evaluate(logits, s.labels(), 0));
      progress.advance();
    }
    progress.done();
    return sums.metrics();
  }

  private List<Slice> slices() {
    if (slices == null) {
      final BatchAssembler assembler = new BatchAssembler(dataset, normalization);
      final List<Slice> list = new ArrayList<>();
      for (int from = 0; from < indices.length; from += groups.batch()) {
        for (final StatisticGroups.Slice s : groups.forwards()) {
          final INDArray x = assembler.allocate(dtype, s.size());
          final int[] y = new int[s.size() * dataset.labelPositions()];
          assembler.fill(indices, from + s.offset(), s.size(), x, y);
          list.add(new Slice(x, y));
        }
      }
      slices = List.copyOf(list);
    }
    return slices;
  }
}
