package io.synctower.coordinator.train;

import io.synctower.common.config.ModelFactory;
import io.synctower.common.config.RunConfig;
import io.synctower.common.nn.Layer;
import io.synctower.common.nn.ParamSpec;
import io.synctower.common.nn.Shape;
import io.synctower.common.optim.OptimizerSpec;
import java.util.List;
import java.util.Locale;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * How much off-heap (ND4J) memory one tower of a run needs at least, worked out from the layer
 * shapes without allocating anything, so a model that cannot fit is refused before a buffer is
 * allocated (ND4J does not fail cleanly there: the JVM dies in native code).
 *
 * <p>It counts what the code is known to allocate per tower: the parameter buffer, its gradient,
 * the optimizer's state buffers and the BN moving statistics; and for every layer the forward
 * output and the backward input gradient for the tower's share of a batch. Scratch buffers,
 * evaluation batches and ND4J's own overhead come on top, so the figure is a lower bound: a model
 * it refuses cannot run, one it accepts may still be tight. All arithmetic saturates at {@link
 * Long#MAX_VALUE} instead of overflowing.
 *
 * @param parameters learned values (weights, biases, BN gamma and beta)
 * @param stateValues BN moving means and variances
 * @param optimizerSlots state buffers of the optimizer, each as long as the parameters
 * @param activationsPerSample layer outputs plus layer input gradients of one sample
 * @param batchPerTower samples whose activations a tower holds at once: its share of the global
 *     batch, or with gradient accumulation ({@code training.accumulateSteps}) its largest
 *     micro-batch
 * @param bytesPerValue 4 for float32, 8 for float64
 */
public record ModelMemory(
    long parameters,
    long stateValues,
    int optimizerSlots,
    long activationsPerSample,
    int batchPerTower,
    int bytesPerValue) {

  /**
   * The estimate for {@code config}'s model on samples of {@code input}.
   *
   * @throws io.synctower.common.nn.ShapeException if the shapes do not flow (check them first)
   */
  public static ModelMemory of(final RunConfig config, final Shape input) {
    final List<Layer> layers =
        ModelFactory.layers(
            config.model().layers(),
            input,
            config.model().dtype(),
            config.bn().decay(),
            config.bn().epsilon());
    long parameters = 0;
    long state = 0;
    long activations = 0;
    for (final Layer layer : layers) {
      for (final ParamSpec spec : layer.tensors()) {
        long length = 1;
        for (final long d : spec.shape()) {
          length = times(length, d);
        }
        if (spec.kind() == ParamSpec.Kind.PARAMETER) {
          parameters = plus(parameters, length);
        } else {
          state = plus(state, length);
        }
      }
      activations =
          plus(activations, plus(elements(layer.inputShape()), elements(layer.outputShape())));
    }
    final int towers = config.towers();
    final int batch = config.training().batchSize();
    return new ModelMemory(
        parameters,
        state,
        optimizerSlots(config.training().optimizer()),
        activations,
        Math.max(1, ceilDiv(ceilDiv(batch, towers), config.training().accumulateSteps())),
        config.model().dtype() == DataType.DOUBLE ? 8 : 4);
  }

  /** State buffers the optimizer allocates, each as long as the parameter buffer. */
  static int optimizerSlots(final OptimizerSpec spec) {
    return switch (spec.type()) {
      case SGD -> spec.momentumKind() == OptimizerSpec.Momentum.NONE ? 0 : 1;
      case ADAM, ADAMW, ADADELTA -> 2;
      case RMSPROP -> spec.momentum() == 0.0 ? 1 : 2;
    };
  }

  /** Parameters, gradients, optimizer state and BN statistics of one tower, in bytes. */
  public long parameterBytes() {
    return times(plus(times(parameters, 2L + optimizerSlots), stateValues), bytesPerValue);
  }

  /** Forward outputs and backward input gradients of one tower's batch, in bytes. */
  public long activationBytes() {
    return times(times(activationsPerSample, batchPerTower), bytesPerValue);
  }

  /** What {@code towers} towers in one JVM need at least, in bytes. */
  public long bytes(final int towers) {
    return times(plus(parameterBytes(), activationBytes()), towers);
  }

  /** e.g. "1.2 GiB"; "more than 8 EiB" for a saturated figure. */
  public static String format(final long bytes) {
    if (bytes == Long.MAX_VALUE) {
      return "more than 8 EiB";
    }
    final String[] units = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    double v = bytes;
    int u = 0;
    while (v >= 1024 && u < units.length - 1) {
      v /= 1024;
      u++;
    }
    return u == 0 ? bytes + " B" : String.format(Locale.ROOT, "%.1f %s", v, units[u]);
  }

  /** One line for the model description: the per-tower figures. */
  public String describe() {
    return "memory: at least "
        + format(plus(parameterBytes(), activationBytes()))
        + " off-heap per tower ("
        + format(parameterBytes())
        + " parameters, gradients, optimizer and BN state; "
        + format(activationBytes())
        + " activations for "
        + batchPerTower
        + " samples)";
  }

  private static int ceilDiv(final int a, final int b) {
    return (a + b - 1) / b;
  }

  private static long elements(final Shape shape) {
    long n = 1;
    for (final int d : shape.dims()) {
      n = times(n, d);
    }
    return n;
  }

  static long times(final long a, final long b) {
    if (a < 0 || b < 0) {
      throw new IllegalArgumentException("negative size " + a + " x " + b);
    }
    return a != 0 && b > Long.MAX_VALUE / a ? Long.MAX_VALUE : a * b;
  }

  static long plus(final long a, final long b) {
    final long sum = a + b;
    return sum < 0 ? Long.MAX_VALUE : sum;
  }
}
