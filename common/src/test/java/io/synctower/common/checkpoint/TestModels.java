package io.synctower.common.checkpoint;

import io.synctower.common.bn.BatchNorm;
import io.synctower.common.nn.Conv2D;
import io.synctower.common.nn.Dense;
import io.synctower.common.nn.Flatten;
import io.synctower.common.nn.Layer;
import io.synctower.common.nn.Model;
import io.synctower.common.nn.Padding;
import io.synctower.common.nn.ParamSpec;
import io.synctower.common.nn.Shape;
import io.synctower.common.nn.Vectors;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Small models for the weight-file tests, and host copies of their buffers. */
final class TestModels {
  /** Input of {@link #small}: a 6x6 image with 2 channels. */
  static final Shape INPUT = Shape.image(6, 6, 2);

  private TestModels() {}

  /**
   * conv1 (3x3, 2->3, bias) -> bn1 (image) -> flat -> {@code head} (dense 48->{@code units}) ->
   * {@code headBn} (vector BN); initialized from {@code seed}.
   */
  static Model small(
      final DataType dtype,
      final long seed,
      final String head,
      final int units,
      final String headBn) {
    final List<Layer> layers = new ArrayList<>();
    final Conv2D conv =
        new Conv2D(
            "conv1", INPUT, 3, 3, 1, Padding.VALID, true, true, ParamSpec.Init.HE_NORMAL, dtype);
    layers.add(conv);
    final BatchNorm bn1 = new BatchNorm("bn1", conv.outputShape(), 0.9, 1e-3, true, dtype);
    layers.add(bn1);
    final Flatten flat = new Flatten("flat", bn1.outputShape(), dtype);
    layers.add(flat);
    final Dense dense =
        new Dense(
            head, flat.outputShape(), units, true, true, ParamSpec.Init.GLOROT_UNIFORM, dtype);
    layers.add(dense);
    if (headBn != null) {
      layers.add(new BatchNorm(headBn, dense.outputShape(), 0.9, 1e-3, true, dtype));
    }
    final Model model = new Model(layers, dtype);
    model.initialize(seed);
    return model;
  }

  /** {@link #small} with head {@code fc} (5 units) and {@code bn2}. */
  static Model small(final DataType dtype, final long seed) {
    return small(dtype, seed, "fc", 5, "bn2");
  }

  /**
   * Overwrites every parameter and state value with seeded noise, so BN gamma/beta and the moving
   * statistics are not their trivial 1/0 initial values. Running variances get the absolute value
   * of their noise: a real one is never negative, and an import refuses negative ones.
   */
  static void randomize(final Model model, final long seed) {
    final SplittableRandom rng = new SplittableRandom(seed);
    for (final INDArray buffer : List.of(model.parameters(), model.state())) {
      final double[] v = new double[(int) buffer.length()];
      for (int i = 0; i < v.length; i++) {
        v[i] = rng.nextDouble() * 4 - 2;
      }
      Vectors.write(v, buffer);
    }
    for (final Model.Tensor t : model.tensors()) {
      if (t.spec().name().equals("running_var")) {
        final double[] v = new double[(int) t.flat().length()];
        Vectors.read(t.flat(), v);
        for (int i = 0; i < v.length; i++) {
          v[i] = Math.abs(v[i]);
        }
        Vectors.write(v, t.flat());
      }
    }
  }

  /** A host copy of a flat buffer (exact for FLOAT and DOUBLE). */
  static double[] host(final INDArray buffer) {
    final double[] v = new double[(int) buffer.length()];
    Vectors.read(buffer, v);
    return v;
  }

  /** The tensor named {@code key} ({@code <layer>.<param>}). */
  static Model.Tensor tensor(final Model model, final String key) {
    return model.tensors().stream()
        .filter(t -> t.key().equals(key))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no tensor " + key));
  }
}
