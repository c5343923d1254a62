package io.synctower.common.nn;

import io.synctower.common.optim.TrainableRanges;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.function.IntConsumer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * A sequential model whose tensors live in three flat buffers, each layer holding views:
 *
 * <ul>
 *   <li>{@link #parameters()}: everything the optimizer learns (weights, biases, BN gamma/beta);
 *   <li>{@link #gradients()}: the same layout, written by {@link #backward}; the gradient
 *       all-reduce across towers is one call on this one buffer;
 *   <li>{@link #state()}: BN moving means and variances.
 * </ul>
 *
 * plus {@link #unionStatistics()}, the float64 BN partials of the current step that ride along with
 * the gradient all-reduce. A checkpoint or a replica hash is a copy of four buffers.
 *
 * <p>The caller's loop (one thread per replica; the tower's step, simplified):
 *
 * <pre>{@code
 * INDArray logits = model.forward(x, ctx);      // training: BN records union partials
 * SoftmaxCrossEntropy.Result r = loss.evaluate(logits, labels, ctx.globalBatch());
 * model.backward(loss.gradient().reshape('c', logits.shape()), ctx);   // fills gradients()
 * world.allReduceSum(model.gradients(), model.unionStatistics(), nonFiniteFlag);   // one round
 * if (nonFiniteFlag.getDouble(0) == 0) {         // nothing of a non-finite step is applied
 *   model.applyMovingStatistics();                // update ops, before the optimizer
 *   optimizer.step(model.parameters(), model.gradients(), lr);
 * }
 * }</pre>
 *
 * <p>A tower whose shard is empty calls {@link #joinStepWithoutSamples} instead of forward and
 * backward. The model knows layers only through {@link Layer} and, for the update ops, {@link
 * UnionStatisticsLayer}: it never names a concrete layer.
 */
public final class Model {
  /**
   * One named tensor of the model and where it lives.
   *
   * @param gradientFlat the flat view of its gradient ({@code null} for state tensors)
   */
  public record Tensor(
      String key,
      Layer layer,
      ParamSpec spec,
      INDArray value,
      INDArray flat,
      INDArray gradientFlat) {}

  private final List<Layer> layers;
  private final DataType dtype;
  private final INDArray parameters;
  private final INDArray gradients;
  private final INDArray state;
  private final INDArray unionStatistics;
  private final List<Tensor> tensors;
  private final List<UnionStatisticsLayer> statisticsLayers;
  private final TrainableRanges trainableRanges;
  private final int firstLayerNeedingGradient;
  // gradientStart[i]: layer i's first element in the flat gradient (and parameter) buffer; the
  // layout follows layer order, so backward finalizes the buffer from the end towards the start.
  private final long[] gradientStart;
  // References to the arrays the layers returned in the last forward (layer-owned, reused): read
  // only when a step turned out non-finite, to say where it started. Keeping them allocates
  // nothing.
  private final INDArray[] lastOutputs;
  // Optional per-layer timing (bench step --profile); null, the default, costs one branch per
  // layer and allocates nothing.
  private LayerTimer timer;

  public Model(final List<Layer> layers, final DataType dtype) {
    if (layers.isEmpty()) {
      throw new IllegalArgumentException("a model needs at least one layer");
    }
    this.layers = List.copyOf(layers);
    this.dtype = Objects.requireNonNull(dtype, "dtype");
    long parameterCount = 0;
    long stateCount = 0;
    long statisticsCount = 0;
    final List<UnionStatisticsLayer> bns = new ArrayList<>();
    for (final Layer layer : this.layers) {
      for (final ParamSpec spec : layer.tensors()) {
        if (spec.kind() == ParamSpec.Kind.PARAMETER) {
          parameterCount += spec.length();
        } else {
          stateCount += spec.length();
        }
      }
      if (layer instanceof UnionStatisticsLayer bn) {
        bns.add(bn);
        statisticsCount += bn.partialsLength();
      }
    }
    this.statisticsLayers = Collections.unmodifiableList(bns);
    // Zero-length buffers are not representable in every ND4J code path: keep at least one slot.
    this.parameters = Nd4j.create(dtype, Math.max(parameterCount, 1));
    this.gradients = Nd4j.create(dtype, Math.max(parameterCount, 1));
    this.state = Nd4j.create(dtype, Math.max(stateCount, 1));
    this.unionStatistics = Nd4j.create(DataType.DOUBLE, Math.max(statisticsCount, 1));

    final List<Tensor> all = new ArrayList<>();
    final TrainableRanges.Builder ranges = new TrainableRanges.Builder();
    long parameterOffset = 0;
    long stateOffset = 0;
    long statisticsOffset = 0;
    int firstNeedingGradient = layers.size();
    this.gradientStart = new long[this.layers.size()];
    for (int i = 0; i < this.layers.size(); i++) {
      final Layer layer = this.layers.get(i);
      gradientStart[i] = parameterOffset;
      final List<INDArray> values = new ArrayList<>();
      final List<INDArray> grads = new ArrayList<>();
      for (final ParamSpec spec : layer.tensors()) {
        final boolean isParameter = spec.kind() == ParamSpec.Kind.PARAMETER;
        final long offset = isParameter ? parameterOffset : stateOffset;
        final INDArray buffer = isParameter ? parameters : state;
        final INDArray flat = slice(buffer, offset, spec.length());
        final INDArray value = flat.reshape('c', spec.shape());
        values.add(value);
        final INDArray gradientFlat = isParameter ? slice(gradients, offset, spec.length()) : null;
        grads.add(gradientFlat == null ? null : gradientFlat.reshape('c', spec.shape()));
        all.add(
            new Tensor(layer.name() + "." + spec.name(), layer, spec, value, flat, gradientFlat));
        if (isParameter) {
          ranges.add(spec.length(), spec.trainable());
          parameterOffset += spec.length();
        } else {
          stateOffset += spec.length();
        }
      }
      layer.bind(values, grads);
      if (layer instanceof UnionStatisticsLayer bn) {
        bn.bindUnionPartials(slice(unionStatistics, statisticsOffset, bn.partialsLength()));
        statisticsOffset += bn.partialsLength();
      }
      if (firstNeedingGradient == layers.size() && layer.hasTrainableParameters()) {
        firstNeedingGradient = i;
      }
    }
    this.tensors = Collections.unmodifiableList(all);
    this.trainableRanges = ranges.build();
    this.firstLayerNeedingGradient = firstNeedingGradient;
    this.lastOutputs = new INDArray[this.layers.size()];
  }

  private static INDArray slice(final INDArray flat, final long offset, final long length) {
    return flat.get(NDArrayIndex.interval(offset, offset + length));
  }

  /**
   * Initializes every tensor from {@code seed}: the same seed gives the same model on every machine
   * (Java's StrictMath and SplittableRandom, not the native RNG).
   */
  public void initialize(final long seed) {
    for (int t = 0; t < tensors.size(); t++) {
      final Tensor tensor = tensors.get(t);
      final double[] values = new double[(int) tensor.spec().length()];
      final SplittableRandom rng = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + t);
      final long[] fans = tensor.layer().fans(tensor.spec());
      switch (tensor.spec().init()) {
        case ZEROS -> {}
        case ONES -> java.util.Arrays.fill(values, 1.0);
        case GLOROT_UNIFORM -> {
          final double a = Math.sqrt(6.0 / (fans[0] + fans[1]));
          for (int i = 0; i < values.length; i++) {
            values[i] = (2 * rng.nextDouble() - 1) * a;
          }
        }
        case HE_NORMAL -> {
          final double std = Math.sqrt(2.0 / fans[0]);
          for (int i = 0; i < values.length; i++) {
            values[i] = std * gaussian(rng);
          }
        }
      }
      Vectors.write(values, tensor.flat());
    }
    gradients.assign(0);
    unionStatistics.assign(0);
  }

  /** Box-Muller with StrictMath: reproducible bit for bit on every JVM. */
  private static double gaussian(final SplittableRandom rng) {
    final double u1 = 1.0 - rng.nextDouble();
    final double u2 = rng.nextDouble();
    return StrictMath.sqrt(-2.0 * StrictMath.log(u1)) * StrictMath.cos(2 * StrictMath.PI * u2);
  }

  /**
   * Forward pass of a batch {@code [n, inputShape...]}; returns the logits (owned by the last
   * layer, valid until the next forward). In training mode the BN layers first get a zeroed
   * union-statistics buffer and record this tower's partials into it.
   */
  public INDArray forward(final INDArray x, final StepContext ctx) {
    if (ctx.training()) {
      unionStatistics.assign(0);
    }
    return forwardAddingStatistics(x, ctx);
  }

  /**
   * {@link #forward}, except that in training mode the BN layers add their partials to {@link
   * #unionStatistics()} as it is: micro-batch 2..K of a step with gradient accumulation, whose
   * moving statistics are updated once from the union of all its micro-batches (the caller zeroes
   * the buffer before the first).
   */
  public INDArray forwardAddingStatistics(final INDArray x, final StepContext ctx) {
    final LayerTimer t = timer;
    INDArray a = x;
    for (int i = 0; i < layers.size(); i++) {
      final long start = t == null ? 0 : System.nanoTime();
      a = layers.get(i).forward(a, ctx);
      if (t != null) {
        t.forwardDone(i, System.nanoTime() - start);
      }
      lastOutputs[i] = a;
    }
    return a;
  }

  /**
   * Backward pass from dL/dlogits (which may be overwritten); writes {@link #gradients()}. Stops at
   * the first layer with trainable parameters: a frozen prefix (a pretrained backbone) costs no
   * backward work, and that first layer computes no dL/dx ({@link
   * Layer#backwardWithoutInputGradient}).
   */
  public void backward(final INDArray dLogits, final StepContext ctx) {
    backward(dLogits, ctx, null);
  }

  /**
   * {@link #backward(INDArray, StepContext)}, telling {@code layerDone} (on this thread) the index
   * of each layer whose backward has returned, last layer first: from then on the gradient elements
   * from {@link #gradientStart}{@code (i)} to the end are final for this step (no later layer
   * writes them), so they may be sent to the other towers while earlier layers compute. Layers
   * before {@link #firstLayerNeedingGradient()} are not reported (they run no backward; their
   * gradients keep their values). {@code null}: no reports.
   */
  public void backward(final INDArray dLogits, final StepContext ctx, final IntConsumer layerDone) {
    final LayerTimer t = timer;
    INDArray d = dLogits;
    for (int i = layers.size() - 1; i >= firstLayerNeedingGradient; i--) {
      final long start = t == null ? 0 : System.nanoTime();
      if (i > firstLayerNeedingGradient) {
        d = layers.get(i).backward(d, ctx);
      } else {
        // Its dL/dx would go to no one: only the parameter gradients.
        layers.get(i).backwardWithoutInputGradient(d, ctx);
      }
      if (t != null) {
        t.backwardDone(i, System.nanoTime() - start);
      }
      if (layerDone != null) {
        layerDone.accept(i);
      }
    }
  }

  /**
   * Layer {@code i}'s first element in {@link #gradients()} (and {@link #parameters()}): the flat
   * buffers hold the layers' tensors in layer order, so layer i's gradients are {@code
   * [gradientStart(i), gradientStart(i + 1))} and {@code gradientStart(layers)} is the length.
   */
  public long gradientStart(final int i) {
    return i == layers.size() ? parameterCount() : gradientStart[i];
  }

  /**
   * Times every layer's forward and backward call from now on ({@code null} stops). The clock is
   * read around each call, which measures the layer's work because ND4J's CPU ops run synchronously
   * on the calling thread (their OpenMP threads join before the call returns). On the CUDA backend
   * ops are queued asynchronously: a timer there would need a device synchronize (e.g. {@code
   * Nd4j.getExecutioner().commit()}) before each reading, or it would mostly time the enqueueing.
   * Call between steps, on the step's thread.
   */
  public void timeLayers(final LayerTimer timer) {
    this.timer = timer;
  }

  /**
   * Index of the first layer that runs backward: a frozen prefix without trainable parameters is
   * skipped (see {@link #backward}).
   */
  public int firstLayerNeedingGradient() {
    return firstLayerNeedingGradient;
  }

  /**
   * This tower's part of a training step whose shard is empty (global batch smaller than the tower
   * count): no forward or backward work, zero gradients and zero union statistics, and every BN
   * collective a tower with samples issues, in the same order (forward in layer order, backward in
   * reverse), so the others neither hang nor miscount.
   */
  public void joinStepWithoutSamples(final StepContext ctx) {
    unionStatistics.assign(0);
    gradients.assign(0);
    joinCollectivesWithoutSamples(ctx);
  }

  /**
   * The collectives of {@link #joinStepWithoutSamples} alone, leaving every buffer as it is: an
   * empty micro-batch of a step with gradient accumulation (it adds nothing to the union statistics
   * or the accumulated gradients, but the sync group's towers with samples wait for its zeros).
   */
  public void joinCollectivesWithoutSamples(final StepContext ctx) {
    for (final UnionStatisticsLayer bn : statisticsLayers) {
      bn.joinForwardWithoutSamples(ctx);
    }
    for (int i = layers.size() - 1; i >= firstLayerNeedingGradient; i--) {
      if (layers.get(i) instanceof UnionStatisticsLayer bn) {
        bn.joinBackwardWithoutSamples(ctx);
      }
    }
  }

  /**
   * The forward half of {@link #joinStepWithoutSamples}: a training forward without samples (zero
   * union statistics, every BN collective a tower with samples issues, in layer order), for
   * forward-only passes such as precise BN.
   */
  public void joinForwardWithoutSamples(final StepContext ctx) {
    unionStatistics.assign(0);
    for (final UnionStatisticsLayer bn : statisticsLayers) {
      bn.joinForwardWithoutSamples(ctx);
    }
  }

  /**
   * The update ops: every trainable BN layer folds the (reduced) union statistics of this step into
   * its moving mean and variance. Called by the step after the all-reduce and before the optimizer,
   * on every tower with the same input, so replicas stay identical.
   */
  public void applyMovingStatistics() {
    for (final UnionStatisticsLayer bn : statisticsLayers) {
      bn.applyMovingStatistics();
    }
  }

  /**
   * Precise BN's last step: every trainable BN layer replaces its moving statistics with those of
   * the union partials in {@link #unionStatistics()}, which the caller has filled with the
   * population (see {@code io.synctower.common.bn.PreciseBn}).
   */
  public void replaceMovingStatistics() {
    for (final UnionStatisticsLayer bn : statisticsLayers) {
      bn.replaceMovingStatistics();
    }
  }

  /**
   * The outputs of the last forward, by layer (null before the first); valid until the next
   * forward. For diagnostics ({@link NonFinite#locate}).
   */
  public List<INDArray> lastOutputs() {
    return java.util.Arrays.asList(lastOutputs);
  }

  public List<Layer> layers() {
    return layers;
  }

  /**
   * The layers with union statistics (batch norm), in layer order. For the BN layers as {@code
   * BatchNorm}, see {@code io.synctower.common.bn.BatchNorm#layersOf}.
   */
  public List<UnionStatisticsLayer> statisticsLayers() {
    return statisticsLayers;
  }

  /** All named tensors ({@code <layer>.<name>}), parameters and state, in layout order. */
  public List<Tensor> tensors() {
    return tensors;
  }

  /**
   * The view of the tensor keyed {@code <layer>.<name>} (e.g. {@code bn1.running_mean}), in the
   * internal layout; writes go to the model's flat buffers.
   *
   * @throws IllegalArgumentException naming the valid keys if there is no such tensor
   */
  public INDArray tensor(final String key) {
    for (final Tensor t : tensors()) {
      if (t.key().equals(key)) {
        return t.value();
      }
    }
    throw new IllegalArgumentException(
        "no tensor '" + key + "'; this model has " + tensors().stream().map(Tensor::key).toList());
  }

  public DataType dataType() {
    return dtype;
  }

  public Shape inputShape() {
    return layers.get(0).inputShape();
  }

  public Shape outputShape() {
    return layers.get(layers.size() - 1).outputShape();
  }

  /** The flat parameter buffer (a view owner: layers hold views into it). */
  public INDArray parameters() {
    return parameters;
  }

  /** The flat gradient buffer, same layout as {@link #parameters()}. */
  public INDArray gradients() {
    return gradients;
  }

  /** The flat BN moving-statistics buffer. */
  public INDArray state() {
    return state;
  }

  /** This step's float64 BN union partials (count, sums, sums of squares per BN layer). */
  public INDArray unionStatistics() {
    return unionStatistics;
  }

  public TrainableRanges trainableRanges() {
    return trainableRanges;
  }

  /** Number of parameters (trainable or frozen). */
  public long parameterCount() {
    long n = 0;
    for (final Tensor t : tensors) {
      if (t.spec().kind() == ParamSpec.Kind.PARAMETER) {
        n += t.spec().length();
      }
    }
    return n;
  }
}
