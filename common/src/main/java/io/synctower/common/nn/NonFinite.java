package io.synctower.common.nn;

import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.BooleanIndexing;
import org.nd4j.linalg.indexing.conditions.Conditions;

/**
 * Finding NaN and Inf in a training step: a cheap per-step test and, only when it fires, a search
 * for the first place the values went bad.
 *
 * <p>The per-step test is one sum: a finite sum proves every element finite (NaN and Inf propagate
 * through addition, and +Inf + -Inf is NaN). A non-finite sum is then confirmed element-wise, so a
 * sum that merely overflowed (huge but finite values) is not reported.
 */
public final class NonFinite {
  private NonFinite() {}

  /** Whether {@code a} holds a NaN or an infinity. One reduction on the common (finite) path. */
  public static boolean any(final INDArray a) {
    if (Double.isFinite(a.sumNumber().doubleValue())) {
      return false;
    }
    return BooleanIndexing.or(a, Conditions.isNan())
        || BooleanIndexing.or(a, Conditions.isInfinite());
  }

  /**
   * Where a step's values first went non-finite.
   *
   * @param depth how early in the step: 0 the input, i + 1 the output of layer i, then the loss,
   *     then parameter gradients in backward order; {@link Integer#MAX_VALUE} when all is finite.
   *     With SyncBN, NaN on one tower spreads to the others through the statistics all-reduce, so
   *     the tower with the smallest depth is where it started
   * @param description e.g. {@code "the output of layer 3 (relu 'relu2')"}, or {@code ""}
   */
  public record Where(int depth, String description) {
    public static final Where FINITE = new Where(Integer.MAX_VALUE, "");
  }

  /**
   * Where non-finite values first appear in the step just run on {@code model}: the input batch,
   * then each layer's output in forward order, then the loss, then the parameter gradients in the
   * order backward produced them (last layer first). Call after forward and backward of the same
   * batch and before the next forward: it reads the layers' retained outputs.
   *
   * @param lossSum this tower's loss sum for the step
   * @return where, or {@link Where#FINITE}
   */
  public static Where locate(final Model model, final INDArray input, final double lossSum) {
    if (input != null && any(input)) {
      return new Where(0, "the input batch (the data itself contains NaN or Inf)");
    }
    final List<Layer> layers = model.layers();
    final List<INDArray> outputs = model.lastOutputs();
    for (int i = 0; i < outputs.size(); i++) {
      final INDArray out = outputs.get(i);
      if (out != null && any(out)) {
        return new Where(i + 1, "the output of " + describe(layers, i));
      }
    }
    final int loss = layers.size() + 1;
    if (!Double.isFinite(lossSum)) {
      return new Where(loss, "the loss (logits are finite)");
    }
    for (int i = layers.size() - 1; i >= 0; i--) {
      for (final Model.Tensor t : model.tensors()) {
        if (t.layer() == layers.get(i)
            && t.spec().kind() == ParamSpec.Kind.PARAMETER
            && any(t.gradientFlat())) {
          return new Where(
              loss + layers.size() - i,
              "the gradient of " + t.key() + " in " + describe(layers, i));
        }
      }
    }
    return Where.FINITE;
  }

  private static String describe(final List<Layer> layers, final int index) {
    final Layer layer = layers.get(index);
    return "layer "
        + index
        + " ("
        + layer.getClass().getSimpleName().toLowerCase(java.util.Locale.ROOT)
        + " '"
        + layer.name()
        + "')";
  }
}
