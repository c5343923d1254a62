package io.synctower.common.config;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.bn.PopulationStatistics;
import io.synctower.common.bn.PreciseBn;
import io.synctower.common.nn.GradientCheck;
import io.synctower.common.nn.Layer;
import io.synctower.common.nn.LayerSpec;
import io.synctower.common.nn.Model;
import io.synctower.common.nn.Padding;
import io.synctower.common.nn.ParamSpec;
import io.synctower.common.nn.Shape;
import io.synctower.common.nn.ShapeException;
import io.synctower.common.nn.StepContext;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * Residual blocks flattened into the model ({@link ModelFactory}, {@code ResidualJunction}), in
 * float64: every gradient against central finite differences (BN in training mode), hand-checkable
 * blocks, frozen layers and a frozen prefix ending inside a block, precise BN against the
 * population statistics of what each BN layer saw, and the names and errors.
 */
class ResidualModelTest {
  private static final DataType F64 = DataType.DOUBLE;
  private static final Shape INPUT = Shape.image(4, 4, 1);
  private static final double TOLERANCE = 1e-6;

  private static LayerSpec conv(
      final String name, final int filters, final int kernel, final int stride, final boolean t) {
    return new LayerSpec.Conv2d(
        name, filters, kernel, stride, Padding.SAME, false, ParamSpec.Init.HE_NORMAL, t);
  }

  private static LayerSpec bn(final boolean trainable) {
    return new LayerSpec.BatchNorm(null, Double.NaN, Double.NaN, trainable);
  }

  /**
   * A projection block (stride 2, 1 -> 2 channels) then an identity block, a dense head. {@code
   * frozen} names the inner layers (e.g. {@code conv1}) of the first block that are {@code
   * trainable: false}; {@code stemFrozen} adds a frozen convolution before the blocks.
   */
  private static List<LayerSpec> specs(final List<String> frozen, final boolean stemFrozen) {
    final List<LayerSpec> specs = new ArrayList<>();
    if (stemFrozen) {
      specs.add(conv("stem", 1, 3, 1, false));
    }
    specs.add(
        new LayerSpec.Residual(
            "layer1.0",
            List.of(
                conv(null, 2, 3, 2, !frozen.contains("conv1")),
                bn(!frozen.contains("bn1")),
                new LayerSpec.Relu(null),
                conv(null, 2, 3, 1, !frozen.contains("conv2")),
                bn(!frozen.contains("bn2"))),
            List.of(
                conv(null, 2, 1, 2, !frozen.contains("downsample.0")),
                bn(!frozen.contains("downsample.1"))),
            true));
    specs.add(
        new LayerSpec.Residual(
            null,
            List.of(conv(null, 2, 3, 1, true), bn(true), new LayerSpec.Relu(null)),
            List.of(),
            true));
    specs.add(new LayerSpec.Flatten(null));
    specs.add(new LayerSpec.Dense("fc", 3, true, ParamSpec.Init.GLOROT_UNIFORM, true));
    return specs;
  }

  private static Model model(final List<String> frozen, final boolean stemFrozen) {
    final Model m = ModelFactory.build(specs(frozen, stemFrozen), INPUT, F64, 0.9, 1e-3);
    m.initialize(5);
    // Non-trivial BN parameters and moving statistics (frozen BN normalizes with the latter).
    for (final Model.Tensor t : m.tensors()) {
      if (t.layer() instanceof io.synctower.common.bn.BatchNorm
          && t.spec().kind() == ParamSpec.Kind.PARAMETER) {
        t.flat().assign(GradientCheck.random(t.key().hashCode(), t.spec().length()).addi(0.5));
      }
      if (t.key().endsWith("running_mean")) {
        t.flat().assign(GradientCheck.random(t.key().hashCode(), t.spec().length()).muli(0.3));
      }
      if (t.key().endsWith("running_var")) {
        t.flat().assign(GradientCheck.random(t.key().hashCode(), t.spec().length()).addi(1.5));
      }
    }
    return m;
  }

  private static INDArray input(final long seed, final int n) {
    return GradientCheck.random(seed, INPUT.withBatch(n)).muli(2);
  }

  /** dL/dx through every layer (the model's own backward stops before the first layer). */
  private static INDArray inputGradient(final Model m, final INDArray dy, final StepContext ctx) {
    INDArray d = dy;
    for (int i = m.layers().size() - 1; i >= 0; i--) {
      d = m.layers().get(i).backward(d, ctx);
    }
    return d.dup();
  }

  private static double loss(
      final Model m, final INDArray x, final StepContext ctx, final INDArray r) {
    return m.forward(x, ctx).mul(r).sumNumber().doubleValue();
  }

  @Test
  void everyGradientShouldMatchFiniteDifferencesWithBnInTraining() {
    final Model m = model(List.of(), false);
    final int n = 3;
    final INDArray x = input(1, n);
    final StepContext ctx = StepContext.training(1, 0, n);
    final INDArray r = GradientCheck.random(99, m.forward(x, ctx).shape());
    final INDArray dx = inputGradient(m, r.dup(), ctx);
    final INDArray numeric = Nd4j.create(F64, x.length());
    final INDArray flat = x.reshape(x.length());
    for (long i = 0; i < x.length(); i++) {
      final double v = flat.getDouble(i);
      flat.putScalar(i, v + 1e-6);
      final double plus = loss(m, x, ctx, r);
      flat.putScalar(i, v - 1e-6);
      final double minus = loss(m, x, ctx, r);
      flat.putScalar(i, v);
      numeric.putScalar(i, (plus - minus) / 2e-6);
    }
    final double e = GradientCheck.relativeError(dx, numeric);
    assertTrue(e <= TOLERANCE, "dL/dx relative error " + e);
    // Every parameter (both branches, both blocks, the head), through the step's backward.
    GradientCheck.checkModelBackward(m, x, ctx, TOLERANCE);
    // The input gradient has both branches: without the shortcut's share it would be another.
    assertTrue(dx.norm2Number().doubleValue() > 1e-3);
  }

  @Test
  void aMainBranchOfZeroWeightsShouldGiveReluOfTheShortcut() {
    final Shape in = Shape.image(3, 3, 2);
    final Model m =
        ModelFactory.build(
            List.of(
                new LayerSpec.Residual(
                    "b",
                    List.of(
                        new LayerSpec.Conv2d(
                            null, 2, 3, 1, Padding.SAME, true, ParamSpec.Init.ZEROS, true)),
                    List.of(),
                    true)),
            in,
            F64,
            0.9,
            1e-3);
    m.initialize(1);
    final INDArray x = GradientCheck.random(3, in.withBatch(2));
    final StepContext ctx = StepContext.training(1, 0, 2);
    final INDArray y = m.forward(x, ctx);
    assertArrayEquals(vector(Transforms.relu(x, true)), vector(y), 0.0, "relu(0 + x)");
    final INDArray dy = GradientCheck.random(4, in.withBatch(2));
    final INDArray expected = dy.mul(x.gt(0).castTo(F64));
    assertArrayEquals(
        vector(expected),
        vector(inputGradient(m, dy, ctx)),
        0.0,
        "dy * step(x): the main branch adds 0");
  }

  @Test
  void aDenseBlockWithoutReluShouldAddBothBranches() {
    // main: dense with W = 2 I, shortcut: identity, no ReLU: y = 2x + x, dL/dx = 3 dy.
    final Shape in = Shape.flat(3);
    final Model m =
        ModelFactory.build(
            List.of(
                new LayerSpec.Residual(
                    "b",
                    List.of(new LayerSpec.Dense("fc", 3, false, ParamSpec.Init.ZEROS, true)),
                    List.of(),
                    false)),
            in,
            F64,
            0.9,
            1e-3);
    m.tensor("b.fc.weight").assign(Nd4j.eye(3).muli(2));
    final INDArray x = GradientCheck.random(5, 4, 3);
    final StepContext ctx = StepContext.training(1, 0, 4);
    assertArrayEquals(vector(x.mul(2).addi(x)), vector(m.forward(x, ctx)), 0.0);
    final INDArray dy = GradientCheck.random(6, 4, 3);
    assertArrayEquals(vector(dy.mul(2).addi(dy)), vector(inputGradient(m, dy.dup(), ctx)), 0.0);
    assertEquals(List.of("b.fork", "b.fc", "b.shortcut", "b.add"), names(m));
  }

  @Test
  void frozenConvolutionsInsideBlocksShouldLeaveEveryOtherGradientExactlyAsTrainable() {
    // A frozen prefix that ends inside the first block's main branch: backward stops at bn1.
    final Model frozen = model(List.of("conv1"), true);
    final Model fullWithStem = model(List.of(), true);
    fullWithStem.parameters().assign(frozen.parameters());
    assertEquals("layer1.0.bn1", frozen.layers().get(frozen.firstLayerNeedingGradient()).name());
    final INDArray x = input(2, 3);
    final StepContext ctx = StepContext.training(1, 0, 3);
    final INDArray r = GradientCheck.random(98, 3, 3);
    fullWithStem.forward(x, ctx);
    fullWithStem.backward(r.dup(), ctx);
    frozen.forward(x, ctx);
    frozen.backward(r.dup(), ctx);
    for (final Model.Tensor t : frozen.tensors()) {
      if (t.gradientFlat() == null) {
        continue;
      }
      final INDArray expected =
          t.spec().trainable()
              ? fullWithStem.tensors().get(frozen.tensors().indexOf(t)).gradientFlat()
              : Nd4j.zeros(F64, t.spec().length());
      assertArrayEquals(expected.toDoubleVector(), t.gradientFlat().toDoubleVector(), 0.0, t.key());
    }
  }

  @Test
  void aFrozenPrefixEndingInTheShortcutShouldStillTrainTheShortcutAndEverythingAfter() {
    final Model m = model(List.of("conv1", "bn1", "conv2", "bn2", "downsample.0"), true);
    assertEquals("layer1.0.downsample.1", m.layers().get(m.firstLayerNeedingGradient()).name());
    final INDArray x = input(3, 4);
    GradientCheck.checkModelBackward(m, x, StepContext.training(1, 0, 4), TOLERANCE);
  }

  @Test
  void frozenBnInsideABlockShouldNormalizeWithItsMovingStatistics() {
    final Model m = model(List.of("bn2", "downsample.1"), false);
    final List<String> keys =
        List.of(
            "layer1.0.bn2.running_mean",
            "layer1.0.bn2.running_var",
            "layer1.0.downsample.1.running_mean",
            "layer1.0.downsample.1.running_var",
            "layer1.0.bn1.running_mean");
    final List<double[]> before = keys.stream().map(k -> m.tensor(k).toDoubleVector()).toList();
    final INDArray x = input(4, 3);
    final StepContext ctx = StepContext.training(1, 0, 3);
    m.forward(x, ctx);
    m.applyMovingStatistics();
    for (int k = 0; k < 4; k++) {
      assertArrayEquals(before.get(k), m.tensor(keys.get(k)).toDoubleVector(), 0.0, keys.get(k));
    }
    final double moved = Math.abs(before.get(4)[0] - m.tensor(keys.get(4)).toDoubleVector()[0]);
    assertTrue(moved > 1e-6, "a trainable BN in the block updates its statistics: " + moved);
  }

  @Test
  void preciseBnShouldSetEveryBnToThePopulationStatisticsOfItsInputs() {
    final Model m = model(List.of(), false);
    final PreciseBn precise = new PreciseBn(m);
    final List<Integer> bns = new ArrayList<>();
    for (int i = 0; i < m.layers().size(); i++) {
      if (m.layers().get(i) instanceof io.synctower.common.bn.BatchNorm) {
        bns.add(i);
      }
    }
    assertEquals(4, bns.size());
    final List<List<double[][]>> seen = new ArrayList<>();
    bns.forEach(b -> seen.add(new ArrayList<>()));
    int seed = 10;
    for (final int n : new int[] {5, 2, 4}) {
      m.forward(input(seed++, n), StepContext.training(1, 0, n));
      precise.accumulate();
      for (int k = 0; k < bns.size(); k++) {
        // The BN's input is the previous flat layer's output, in either branch.
        final INDArray in = m.lastOutputs().get(bns.get(k) - 1);
        seen.get(k).add(in.reshape('c', -1, in.size(3)).toDoubleMatrix());
      }
    }
    precise.apply();
    for (int k = 0; k < bns.size(); k++) {
      final String name = m.layers().get(bns.get(k)).name();
      final double[][] p = PopulationStatistics.of(seen.get(k));
      assertArrayEquals(p[0], m.tensor(name + ".running_mean").toDoubleVector(), 1e-10, name);
      assertArrayEquals(p[1], m.tensor(name + ".running_var").toDoubleVector(), 1e-10, name);
    }
  }

  @Test
  void layersShouldBeFlatWithTorchvisionNames() {
    final List<String> expected =
        List.of(
            "layer1.0.fork",
            "layer1.0.conv1",
            "layer1.0.bn1",
            "layer1.0.relu1",
            "layer1.0.conv2",
            "layer1.0.bn2",
            "layer1.0.shortcut",
            "layer1.0.downsample.0",
            "layer1.0.downsample.1",
            "layer1.0.add",
            "layer1.0.relu",
            "block1.fork",
            "block1.conv1",
            "block1.bn1",
            "block1.relu1",
            "block1.shortcut",
            "block1.add",
            "block1.relu",
            "flatten1",
            "fc");
    assertEquals(expected, names(model(List.of(), false)));
    assertEquals(expected, ModelFactory.layerNames(specs(List.of(), false)));
    assertTrue(
        model(List.of(), false).tensors().stream()
            .map(Model.Tensor::key)
            .toList()
            .containsAll(
                List.of(
                    "layer1.0.conv1.weight",
                    "layer1.0.bn2.running_var",
                    "layer1.0.downsample.0.weight",
                    "layer1.0.downsample.1.weight")));
  }

  /** A residual block {@code b}: dense (W = 2 I, 3 units) then {@code extra}, identity shortcut. */
  private static Model doubledDenseBlock(final List<LayerSpec> extra) {
    final List<LayerSpec> main = new ArrayList<>();
    main.add(new LayerSpec.Dense("fc", 3, false, ParamSpec.Init.ZEROS, true));
    main.addAll(extra);
    final Model m =
        ModelFactory.build(
            List.of(new LayerSpec.Residual("b", main, List.of(), false)),
            Shape.flat(3),
            F64,
            0.9,
            1e-3);
    m.tensor("b.fc.weight").assign(Nd4j.eye(3).muli(2));
    return m;
  }

  /** The ops the profile names for the block's add layer in the backward. */
  private static String addBackwardOps(final Model m) {
    final Layer add = m.layers().get(m.layers().size() - 1);
    return io.synctower.common.nn.OpEngines.of(add, F64, "", true, true).ops();
  }

  @Test
  void theAddShouldHandDlDoutToBothBranchesWithoutACopyWhenNoBranchLayerWritesIntoIt() {
    final Model m = doubledDenseBlock(List.of(new LayerSpec.Relu(null)));
    final INDArray x = GradientCheck.random(5, 4, 3);
    final StepContext ctx = StepContext.training(1, 0, 4);
    m.forward(x, ctx);
    final List<Layer> layers = m.layers(); // fork, fc, relu, shortcut, add
    final INDArray dy = GradientCheck.random(6, 4, 3);
    final INDArray toShortcut = layers.get(4).backward(dy, ctx);
    final INDArray toMain = layers.get(3).backward(toShortcut, ctx);
    assertTrue(toShortcut == dy && toMain == dy, "both branches get dL/dout itself");
    assertEquals("view", addBackwardOps(m));
    // dL/dx = 2 dy step(2x) + dy, and the caller's dy is left as it was.
    final INDArray expected = dy.mul(x.gt(0).castTo(F64)).muli(2).addi(dy);
    final INDArray dyBefore = dy.dup();
    assertArrayEquals(vector(expected), vector(inputGradient(m, dy, ctx)), 0.0);
    assertArrayEquals(vector(dyBefore), vector(dy), 0.0, "dy unchanged");
  }

  @Test
  void theAddShouldCopyDlDoutForTheMainBranchWhenABranchLayerWritesIntoIt() {
    // Dropout's backward masks its dy in place: shared, it would mask the shortcut's share too.
    final Model m = doubledDenseBlock(List.of(new LayerSpec.Dropout(null, 0.5)));
    final INDArray x = GradientCheck.random(5, 16, 3).addi(3); // no zeros: the mask is y/2x - 1/2
    final StepContext ctx = StepContext.training(1, 0, 16);
    final INDArray y = m.forward(x, ctx).dup();
    final INDArray mask = y.sub(x).divi(x.mul(2));
    assertTrue(mask.minNumber().doubleValue() == 0 && mask.maxNumber().doubleValue() > 1);
    assertEquals("assign", addBackwardOps(m));
    final INDArray dy = GradientCheck.random(6, 16, 3);
    // dL/dx = 2 mask dy + dy; a shared dy would give 2 mask dy + mask dy.
    final INDArray expected = dy.mul(mask).muli(2).addi(dy);
    assertArrayEquals(vector(expected), vector(inputGradient(m, dy.dup(), ctx)), 1e-12);
  }

  private static double[] vector(final INDArray a) {
    return a.dup('c').reshape(a.length()).toDoubleVector();
  }

  private static List<String> names(final Model m) {
    return m.layers().stream().map(Layer::name).toList();
  }

  @Test
  void aShortcutOfAnotherShapeShouldBeRefusedNamingTheBlockBothShapesAndTheFix() {
    final List<LayerSpec> specs =
        List.of(
            new LayerSpec.Residual(
                "layer2.0", List.of(conv(null, 8, 3, 2, true), bn(true)), List.of(), true));
    final ShapeException e =
        assertThrows(ShapeException.class, () -> ModelFactory.build(specs, INPUT, F64, 0.9, 1e-3));
    assertEquals("layer2.0", e.layer());
    for (final String part :
        List.of(
            "(C,H,W)=(8,2,2)",
            "(C,H,W)=(1,4,4) (the identity",
            "shortcut: [{type: conv2d, filters: 8, kernel: 1, stride: 2, bias: false},"
                + " {type: batchnorm}]")) {
      assertTrue(e.getMessage().contains(part), e.getMessage());
    }
    final ModelFactory.Check check = ModelFactory.check(specs, INPUT, F64, 0.9, 1e-3);
    assertEquals(1, check.problems().size(), check.problems().toString());
    assertEquals("model.layers[0]", check.problems().get(0).field());
    assertEquals("layer2.0", check.problems().get(0).name());
  }

  @Test
  void checkShouldNameAnInnerLayerByItsFullNameAndField() {
    final List<LayerSpec> specs =
        List.of(
            new LayerSpec.Residual(
                "b",
                List.of(conv(null, 2, 3, 1, true)),
                List.of(
                    new LayerSpec.Conv2d(
                        "proj", 2, 9, 1, Padding.VALID, false, ParamSpec.Init.HE_NORMAL, true)),
                true));
    final ModelFactory.Check check = ModelFactory.check(specs, INPUT, F64, 0.9, 1e-3);
    assertEquals(1, check.problems().size(), check.problems().toString());
    final ModelFactory.LayerProblem p = check.problems().get(0);
    assertEquals("b.proj", p.name());
    assertEquals("model.layers[0].shortcut[0]", p.field());
    assertEquals(INPUT, p.input());
  }

  @Test
  void aBlockInsideABlockAndDuplicateNamesShouldBeRefused() {
    final LayerSpec inner =
        new LayerSpec.Residual("inner", List.of(new LayerSpec.Relu(null)), List.of(), true);
    final List<LayerSpec> nested =
        List.of(new LayerSpec.Residual("outer", List.of(inner), List.of(), true));
    final ShapeException e =
        assertThrows(ShapeException.class, () -> ModelFactory.build(nested, INPUT, F64, 0.9, 1e-3));
    assertTrue(e.getMessage().contains("inside a residual block"), e.getMessage());
    assertEquals("outer.inner", e.layer());
    final List<LayerSpec> duplicate =
        List.of(new LayerSpec.Residual("b", List.of(new LayerSpec.Relu("relu")), List.of(), true));
    final ShapeException d =
        assertThrows(
            ShapeException.class, () -> ModelFactory.build(duplicate, INPUT, F64, 0.9, 1e-3));
    assertEquals("b.relu", d.layer());
  }

  @Test
  void dropoutInsideABlockShouldDrawItsOwnMask() {
    // Two dropout layers, one in a block: different masks (the seed index is the flat position).
    final Shape in = Shape.flat(64);
    final Model m =
        ModelFactory.build(
            List.of(
                new LayerSpec.Dropout("d0", 0.5),
                new LayerSpec.Residual(
                    "b", List.of(new LayerSpec.Dropout("d", 0.5)), List.of(), false)),
            in,
            F64,
            0.9,
            1e-3);
    final INDArray x = Nd4j.ones(F64, 2, 64);
    m.forward(x, StepContext.training(3, 0, 2));
    final INDArray first = m.lastOutputs().get(0).dup();
    final INDArray inner = m.lastOutputs().get(2).dup();
    assertTrue(!first.equals(inner), "the block's dropout must not repeat the first's mask");
    // Block output = d(first) + first: check the add against both.
    assertArrayEquals(vector(inner.add(first)), vector(m.lastOutputs().get(4)), 0.0);
  }
}
