package io.synctower.common.reference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.checkpoint.ImportReport;
import io.synctower.common.checkpoint.WeightLayout;
import io.synctower.common.checkpoint.WeightsFile;
import io.synctower.common.config.ConfigLoader;
import io.synctower.common.config.ModelFactory;
import io.synctower.common.config.RunConfig;
import io.synctower.common.data.NpyArray;
import io.synctower.common.data.Npz;
import io.synctower.common.metrics.MetricSums;
import io.synctower.common.nn.LayerSpec;
import io.synctower.common.nn.Model;
import io.synctower.common.nn.Padding;
import io.synctower.common.nn.Shape;
import io.synctower.common.nn.SoftmaxCrossEntropy;
import io.synctower.common.nn.StepContext;
import io.synctower.common.optim.Optimizer;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * SyncTower's ResNet presets against PyTorch/torchvision on the same weights (issue #15): a
 * basic-block ImageNet-stem model (resnet18 topology), a bottleneck model (resnet50 topology) and
 * the CIFAR ResNet-20, each at base width 4, float64, a batch of 6 RGB images of 32x32, 10 classes.
 *
 * <p>The oracle is the files {@code make_resnet_reference.py} wrote next to its own source in
 * {@code src/test/resources/io/synctower/common/reference/resnet/} with torch 1.13 and torchvision
 * 0.14 (torchvision's own BasicBlock, Bottleneck and ResNet module tree at a reduced width; its doc
 * lists every file). The test builds the preset from a configuration, imports the torchvision
 * {@code state_dict} under its own names, and then compares, in PyTorch's layout and by key:
 *
 * <ol>
 *   <li>inference-mode logits on the imported weights (BN with the imported running statistics);
 *   <li>step 1 in training mode: logits, the loss (softmax cross-entropy, mean over the batch),
 *       every parameter gradient, and after the BN update ops and SGD (momentum 0.9, weight decay
 *       1e-3) every parameter and running statistic;
 *   <li>step 2, the first whose update reads the momentum buffer: logits, loss, parameters and
 *       running statistics, then inference-mode logits.
 * </ol>
 *
 * <p>Bound, per tensor b (the reference) and a (SyncTower): {@code max_i |a_i - b_i| <= 1e-10 *
 * max(1, max_i |b_i|)}. Both sides compute in float64; what remains is summation order (about 1e-14
 * relative here).
 *
 * <p>A negative control shows the comparison can fail where ResNets are easy to get wrong: with
 * TensorFlow's {@code same} padding (extra row and column at the bottom/right for a stride-2
 * convolution) instead of PyTorch's symmetric padding, the output shapes are the same but the
 * logits are not.
 */
class ResNetReferenceTest {
  /** Relative bound on every compared tensor, see the class doc. */
  private static final double TOLERANCE = 1e-10;

  private static final String RESOURCES = "/io/synctower/common/reference/resnet/";
  private static final int BATCH = 6;
  private static final int CLASSES = 10;
  private static final Shape INPUT = Shape.image(32, 32, 3);

  @ParameterizedTest(name = "{0}")
  @CsvSource({"resnet18-w4, resnet18", "resnet50-w2, resnet50", "resnet20-w4, resnet20"})
  void shouldMatchTorchvisionInTrainingAndInference(final String reference, final String preset) {
    final double[] sgd = Npz.read(resource("inputs.npz")).get("sgd").toDoubleArray();
    final RunConfig config = config(preset, width(reference), sgd[0], sgd[1], sgd[2]);
    assertMatchesReference(resource("inputs.npz").getParent(), reference, config);
  }

  /**
   * Imports {@code <reference>-weights.npz} into the model {@code config} describes and compares
   * inference, two training steps and inference again with the files of {@code reference} in {@code
   * dir} (see the class doc).
   */
  static void assertMatchesReference(
      final Path dir, final String reference, final RunConfig config) {
    final Map<String, NpyArray> inputs = Npz.read(dir.resolve("inputs.npz"));
    final double lr = inputs.get("sgd").toDoubleArray()[0];
    final Model model = build(config.model().layers(), config);
    final ImportReport report =
        WeightsFile.load(model, dir.resolve(reference + "-weights.npz"), WeightLayout.PYTORCH);
    assertTrue(report.missing().isEmpty() && report.unexpected().isEmpty(), report::toString);

    final Map<String, NpyArray> outputs = Npz.read(dir.resolve(reference + "-outputs.npz"));
    final INDArray x = nhwc(inputs.get("x"));
    final int[] labels = labels(inputs.get("labels"));
    final int batch = labels.length;
    assertClose("eval_logits_0", outputs.get("eval_logits_0"), inference(model, x));

    final Optimizer optimizer =
        config.training().optimizer().create(model.parameters(), model.trainableRanges());
    final SoftmaxCrossEntropy loss =
        new SoftmaxCrossEntropy(1, (int) model.outputShape().last(), DataType.DOUBLE);
    for (int step = 1; step <= 2; step++) {
      final StepContext ctx = StepContext.training(config.seed(), step - 1, batch);
      final INDArray logits = model.forward(x, ctx);
      assertClose("logits_" + step, outputs.get("logits_" + step), values(logits));
      final MetricSums sums = loss.evaluate(logits, labels, batch);
      assertClose(
          "loss_" + step,
          outputs.get("loss_" + step),
          new double[] {sums.lossSum() / sums.samples()});
      model.backward(loss.gradient().reshape('c', logits.shape()), ctx);
      if (step == 1) {
        final String file = reference + "-grads1.npz";
        assertTensorsClose(file, Npz.read(dir.resolve(file)), gradientsByKey(model, config));
      }
      model.applyMovingStatistics();
      optimizer.step(model.parameters(), model.gradients(), lr);
      final String file = reference + "-step" + step + ".npz";
      assertTensorsClose(
          file, Npz.read(dir.resolve(file)), WeightsFile.toArrays(model, WeightLayout.PYTORCH));
    }
    assertClose("eval_logits_2", outputs.get("eval_logits_2"), inference(model, x));
  }

  /**
   * The negative control: the same preset with every explicit (PyTorch) convolution padding
   * replaced by TensorFlow's {@code same}, which gives the same shapes, imports the same weights
   * and agrees on stride-1 convolutions, but pads a stride-2 convolution only at the bottom/right:
   * its inference logits must miss the reference by far more than the bound.
   */
  @ParameterizedTest(name = "{0}")
  @CsvSource({"resnet18-w4, resnet18", "resnet50-w2, resnet50", "resnet20-w4, resnet20"})
  void shouldNotMatchTorchvisionWithTensorFlowSamePadding(
      final String reference, final String preset) {
    final Map<String, NpyArray> inputs = Npz.read(resource("inputs.npz"));
    final RunConfig config = config(preset, width(reference), 0.1, 0.9, 0);
    final Model model = build(tensorFlowPadding(config.model().layers()), config);
    WeightsFile.load(model, resource(reference + "-weights.npz"), WeightLayout.PYTORCH);
    final double[] expected =
        Npz.read(resource(reference + "-outputs.npz")).get("eval_logits_0").toDoubleArray();
    final double[] actual = inference(model, nhwc(inputs.get("x")));
    final double miss = maxAbsDifference(expected, actual);
    assertTrue(
        miss > 1e3 * TOLERANCE * Math.max(1, maxAbs(expected)),
        "TensorFlow 'same' padding should change the logits, but they differ by only " + miss);
  }

  /** The base width a reference file name ends with: {@code resnet50-w2} is width 2. */
  private static int width(final String reference) {
    return Integer.parseInt(reference.substring(reference.lastIndexOf("-w") + 2));
  }

  private static RunConfig config(
      final String preset,
      final int width,
      final double lr,
      final double momentum,
      final double weightDecay) {
    final String yaml =
        """
        name: resnet-reference
        model: {preset: %s, width: %d, classes: %d, dtype: float64}
        bn: {decay: 0.9, epsilon: 1.0e-5}
        data:
          train: {type: overfit, size: %d}
        training:
          batchSize: %d
          optimizer: {type: sgd, lr: %s, momentum: %s, weightDecay: %s}
        """
            .formatted(preset, width, CLASSES, BATCH, BATCH, lr, momentum, weightDecay);
    return ConfigLoader.parse(yaml, "reference " + preset, Map.of());
  }

  private static Model build(final List<LayerSpec> specs, final RunConfig config) {
    return ModelFactory.build(
        specs, INPUT, config.model().dtype(), config.bn().decay(), config.bn().epsilon());
  }

  /** {@code specs} with every explicit convolution padding replaced by TensorFlow's same. */
  private static List<LayerSpec> tensorFlowPadding(final List<LayerSpec> specs) {
    return specs.stream().map(ResNetReferenceTest::tensorFlowPadding).toList();
  }

  private static LayerSpec tensorFlowPadding(final LayerSpec spec) {
    if (spec instanceof LayerSpec.Conv2d c && c.padding().mode() == Padding.Mode.EXPLICIT) {
      return new LayerSpec.Conv2d(
          c.name(),
          c.filters(),
          c.kernel(),
          c.stride(),
          Padding.SAME,
          c.bias(),
          c.init(),
          c.trainable());
    }
    if (spec instanceof LayerSpec.Residual r) {
      return new LayerSpec.Residual(
          r.name(),
          tensorFlowPadding(r.layers()),
          tensorFlowPadding(r.shortcut()),
          r.reluAfterAdd());
    }
    return spec;
  }

  /**
   * The gradients in PyTorch's layout, keyed like the parameters: a second model of the same layout
   * holds a copy of them as its parameters, which {@link WeightsFile#toArrays} then names and
   * permutes exactly as it does the weights.
   */
  private static Map<String, NpyArray> gradientsByKey(final Model model, final RunConfig config) {
    final Model view = build(config.model().layers(), config);
    view.parameters().assign(model.gradients());
    final Map<String, NpyArray> all = WeightsFile.toArrays(view, WeightLayout.PYTORCH);
    final Map<String, NpyArray> parameters = new java.util.LinkedHashMap<>();
    for (final Model.Tensor t : view.tensors()) {
      if (t.gradientFlat() != null) {
        parameters.put(t.key(), all.get(t.key()));
      }
    }
    return parameters;
  }

  /**
   * Every key of the reference file against SyncTower's tensor of that key, and no key more or
   * less; PyTorch's {@code num_batches_tracked} counters aside on both sides (SyncTower's BN has a
   * fixed momentum and keeps no counter; an export writes them as 0 for torch's strict load).
   */
  private static void assertTensorsClose(
      final String file, final Map<String, NpyArray> expected, final Map<String, NpyArray> actual) {
    final TreeSet<String> keys = new TreeSet<>(expected.keySet());
    keys.removeIf(ResNetReferenceTest::isCounter);
    final TreeSet<String> actualKeys = new TreeSet<>(actual.keySet());
    actualKeys.removeIf(ResNetReferenceTest::isCounter);
    assertEquals(keys, actualKeys, file + ": keys");
    for (final String key : keys) {
      final NpyArray a = actual.get(key);
      final NpyArray b = expected.get(key);
      assertEquals(java.util.Arrays.toString(b.shape()), java.util.Arrays.toString(a.shape()), key);
      assertClose(file + " " + key, b, a.toDoubleArray());
    }
  }

  private static boolean isCounter(final String key) {
    return key.endsWith(".num_batches_tracked");
  }

  private static void assertClose(final String what, final NpyArray expected, final double[] a) {
    final double[] b = expected.toDoubleArray();
    assertEquals(b.length, a.length, what + ": element count");
    final double bound = TOLERANCE * Math.max(1, maxAbs(b));
    final double miss = maxAbsDifference(b, a);
    assertTrue(
        miss <= bound,
        () -> what + ": max |SyncTower - PyTorch| = " + miss + " > " + bound + " " + worst(b, a));
  }

  private static String worst(final double[] b, final double[] a) {
    int worst = 0;
    for (int i = 0; i < b.length; i++) {
      if (Math.abs(a[i] - b[i]) > Math.abs(a[worst] - b[worst])) {
        worst = i;
      }
    }
    return "(element " + worst + ": SyncTower " + a[worst] + ", PyTorch " + b[worst] + ")";
  }

  private static double maxAbs(final double[] v) {
    double m = 0;
    for (final double d : v) {
      m = Math.max(m, Math.abs(d));
    }
    return m;
  }

  private static double maxAbsDifference(final double[] b, final double[] a) {
    double m = 0;
    for (int i = 0; i < b.length; i++) {
      // NaN anywhere must fail, so compare with !(<=) rather than Math.max.
      final double d = Math.abs(a[i] - b[i]);
      if (!(d <= m)) {
        m = Double.isNaN(d) ? Double.POSITIVE_INFINITY : d;
      }
    }
    return m;
  }

  /** Inference-mode logits (BN with its moving statistics), copied. */
  private static double[] inference(final Model model, final INDArray x) {
    return values(model.forward(x, StepContext.inference()));
  }

  /** A copy of {@code a}'s values in C order (a may be a view). */
  private static double[] values(final INDArray a) {
    return a.dup('c').reshape(a.length()).toDoubleVector();
  }

  /** PyTorch's NCHW batch as SyncTower's NHWC (a new array). */
  private static INDArray nhwc(final NpyArray x) {
    final long[] s = x.shape();
    final INDArray nchw = Nd4j.create(x.toDoubleArray(), s, DataType.DOUBLE);
    return nchw.permute(0, 2, 3, 1).dup('c');
  }

  private static int[] labels(final NpyArray labels) {
    final long[] l = labels.toLongArray();
    final int[] out = new int[l.length];
    for (int i = 0; i < l.length; i++) {
      out[i] = Math.toIntExact(l[i]);
    }
    return out;
  }

  private static Path resource(final String name) {
    try {
      return Path.of(ResNetReferenceTest.class.getResource(RESOURCES + name).toURI());
    } catch (final URISyntaxException | NullPointerException e) {
      throw new IllegalStateException("test resource " + RESOURCES + name + " is missing", e);
    }
  }
}
