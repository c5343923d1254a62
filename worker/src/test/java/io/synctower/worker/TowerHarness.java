package io.synctower.worker;

import io.synctower.common.comm.Collective;
import io.synctower.common.comm.InProcessGroup;
import io.synctower.common.config.ModelFactory;
import io.synctower.common.data.Shards;
import io.synctower.common.nn.BnTraining;
import io.synctower.common.nn.LayerSpec;
import io.synctower.common.nn.Model;
import io.synctower.common.nn.Padding;
import io.synctower.common.nn.ParamSpec;
import io.synctower.common.nn.Shape;
import io.synctower.common.nn.SoftmaxCrossEntropy;
import io.synctower.common.nn.StatsReducer;
import io.synctower.common.nn.StepContext;
import io.synctower.common.optim.Optimizer;
import io.synctower.common.optim.OptimizerSpec;
import io.synctower.common.optim.OptimizerState;
import io.synctower.worker.assembly.InProcessGroups;
import io.synctower.worker.assembly.SyncGroups;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Runs N towers as threads on the same sequence of global batches, the way the tower runtime does
 * (shards from {@link Shards}, one {@link InProcessGroup} for gradients, one per sync group for BN
 * statistics), and records what the invariance tests compare: per-step global loss, the reduced
 * gradient the optimizer saw, and each replica's final parameters, moving statistics and hash.
 */
final class TowerHarness {
  static final Shape INPUT = Shape.image(6, 6, 2);
  static final int CLASSES = 5;

  /** Which network the towers run. */
  enum Net {
    /** conv-BN-relu-pool, dropout, dense-BN on vectors, dense: {@link #model(boolean, boolean)}. */
    SEQUENTIAL,
    /** A projection and an identity residual block, dropout, dense: {@link #residual}. */
    RESIDUAL
  }

  /**
   * What to run. {@code frozenFirstBn} makes the first BN layer a frozen (trainable: false) layer.
   */
  record Setup(
      int towers,
      BnTraining bn,
      int ghostBatch,
      int syncGroupSize,
      int globalBatch,
      int steps,
      OptimizerSpec optimizer,
      double shardZeroScale,
      boolean frozenFirstBn,
      Net net) {
    /** The sequential network. */
    Setup(
        final int towers,
        final BnTraining bn,
        final int ghostBatch,
        final int syncGroupSize,
        final int globalBatch,
        final int steps,
        final OptimizerSpec optimizer,
        final double shardZeroScale,
        final boolean frozenFirstBn) {
      this(
          towers,
          bn,
          ghostBatch,
          syncGroupSize,
          globalBatch,
          steps,
          optimizer,
          shardZeroScale,
          frozenFirstBn,
          Net.SEQUENTIAL);
    }

    Setup withTowers(final int n, final BnTraining mode, final int ghost, final int group) {
      return new Setup(
          n, mode, ghost, group, globalBatch, steps, optimizer, shardZeroScale, frozenFirstBn, net);
    }
  }

  /** What came out: index [step] for per-step values, [rank] for replicas. */
  record Outcome(
      double[] losses,
      List<double[]> gradients,
      List<double[]> parameters,
      List<double[]> states,
      List<List<Long>> hashesPerStep,
      long statsReductionsPerStep,
      boolean[] skipped) {}

  private TowerHarness() {}

  /**
   * The model every tower runs. conv1 and fc1 have no bias, as usual before BN: BN cancels a bias,
   * so its true gradient is 0 and only rounding noise (~1e-17) remains, which Adam's 1/(sqrt(v) +
   * eps) turns into parameter differences of ~1e-10 between mathematically equal runs; that would
   * be a property of Adam on a dead parameter, not of the towers.
   */
  static Model model(final boolean frozenFirstBn) {
    return model(frozenFirstBn, false);
  }

  /** {@link #model(boolean)}, with conv1 frozen too if {@code frozenConv1}. */
  static Model model(final boolean frozenFirstBn, final boolean frozenConv1) {
    final List<LayerSpec> specs =
        List.of(
            new LayerSpec.Conv2d(
                "conv1", 4, 3, 1, Padding.SAME, false, ParamSpec.Init.HE_NORMAL, !frozenConv1),
            new LayerSpec.BatchNorm("bn1", Double.NaN, Double.NaN, !frozenFirstBn),
            new LayerSpec.Relu("relu1"),
            new LayerSpec.MaxPool("pool1", 2, 2, 0),
            new LayerSpec.Flatten("flat"),
            new LayerSpec.Dropout("drop", 0.25),
            new LayerSpec.Dense("fc1", 8, false, ParamSpec.Init.GLOROT_UNIFORM, true),
            new LayerSpec.BatchNorm("bn2", Double.NaN, Double.NaN, true),
            new LayerSpec.Relu("relu2"),
            new LayerSpec.Dense("fc2", CLASSES, true, ParamSpec.Init.GLOROT_UNIFORM, true));
    final Model m = ModelFactory.build(specs, INPUT, DataType.DOUBLE, 0.9, 1e-3);
    m.initialize(11);
    if (frozenFirstBn) {
      // Non-trivial moving statistics, as a pretrained backbone would have.
      m.tensor("bn1.running_mean").assign(Nd4j.linspace(-0.3, 0.3, 4, DataType.DOUBLE));
      m.tensor("bn1.running_var").assign(Nd4j.linspace(0.5, 2.0, 4, DataType.DOUBLE));
    }
    return m;
  }

  /** The network of {@code net}; see {@link #model(boolean, boolean)} for the flags. */
  static Model model(final Net net, final boolean frozenFirstBn, final boolean frozenConv1) {
    return net == Net.RESIDUAL
        ? residual(frozenFirstBn, frozenConv1)
        : model(frozenFirstBn, frozenConv1);
  }

  /**
   * A small ResNet: block layer1.0 (conv 3x3 stride 2, BN, ReLU, conv, BN; projection shortcut conv
   * 1x1 stride 2, BN), block layer2.0 (conv, BN, ReLU, conv, BN; identity shortcut), each with a
   * ReLU after the add, then flatten, dropout and dense. {@code frozenConv1} freezes
   * layer1.0.conv1, the first layer: the frozen prefix then ends inside the first block (backward
   * stops at layer1.0.bn1, or at layer1.0.conv2 when {@code frozenFirstBn} freezes layer1.0.bn1
   * too).
   */
  static Model residual(final boolean frozenFirstBn, final boolean frozenConv1) {
    final List<LayerSpec> specs =
        List.of(
            new LayerSpec.Residual(
                "layer1.0",
                List.of(
                    conv(4, 3, 2, !frozenConv1),
                    new LayerSpec.BatchNorm(null, Double.NaN, Double.NaN, !frozenFirstBn),
                    new LayerSpec.Relu(null),
                    conv(4, 3, 1, true),
                    new LayerSpec.BatchNorm(null, Double.NaN, Double.NaN, true)),
                List.of(
                    conv(4, 1, 2, true),
                    new LayerSpec.BatchNorm(null, Double.NaN, Double.NaN, true)),
                true),
            new LayerSpec.Residual(
                "layer2.0",
                List.of(
                    conv(4, 3, 1, true),
                    new LayerSpec.BatchNorm(null, Double.NaN, Double.NaN, true),
                    new LayerSpec.Relu(null),
                    conv(4, 3, 1, true),
                    new LayerSpec.BatchNorm(null, Double.NaN, Double.NaN, true)),
                List.of(),
                true),
            new LayerSpec.Flatten("flat"),
            new LayerSpec.Dropout("drop", 0.25),
            new LayerSpec.Dense("fc", CLASSES, true, ParamSpec.Init.GLOROT_UNIFORM, true));
    final Model m = ModelFactory.build(specs, INPUT, DataType.DOUBLE, 0.9, 1e-3);
    m.initialize(11);
    if (frozenFirstBn) {
      m.tensor("layer1.0.bn1.running_mean").assign(Nd4j.linspace(-0.3, 0.3, 4, DataType.DOUBLE));
      m.tensor("layer1.0.bn1.running_var").assign(Nd4j.linspace(0.5, 2.0, 4, DataType.DOUBLE));
    }
    return m;
  }

  /** A convolution without bias (BN follows), 'same' padding. */
  private static LayerSpec conv(
      final int filters, final int kernel, final int stride, final boolean trainable) {
    return new LayerSpec.Conv2d(
        null, filters, kernel, stride, Padding.SAME, false, ParamSpec.Init.HE_NORMAL, trainable);
  }

  /** Global batch {@code step}: NHWC inputs and labels, fixed by the step number. */
  static INDArray batchInputs(final Setup s, final int step) {
    Nd4j.getRandom().setSeed(1000 + step);
    final INDArray x =
        Nd4j.randn(DataType.DOUBLE, s.globalBatch(), INPUT.dim(0), INPUT.dim(1), INPUT.dim(2))
            .muli(1.5)
            .addi(0.7);
    if (s.shardZeroScale() != 1.0 && s.towers() > 1) {
      final int size = Shards.size(s.globalBatch(), s.towers(), 0);
      x.get(NDArrayIndex.interval(0, size)).muli(s.shardZeroScale());
    }
    return x;
  }

  static int[] batchLabels(final Setup s, final int step) {
    final Random r = new Random(2000 + step);
    final int[] labels = new int[s.globalBatch()];
    for (int i = 0; i < labels.length; i++) {
      labels[i] = r.nextInt(CLASSES);
    }
    return labels;
  }

  static Outcome run(final Setup s) throws Exception {
    return run(s, s.towers());
  }

  /**
   * Runs {@code s}; inputs are generated as for {@code layoutTowers} towers (so a 1-tower reference
   * sees the same scaled rows as the N-tower run).
   */
  static Outcome run(final Setup s, final int layoutTowers) throws Exception {
    final InProcessGroup world = new InProcessGroup(s.towers());
    return run(s, layoutTowers, new Variant(world::member, -1, -1, false));
  }

  /**
   * How a run differs from the default: tower r reduces over {@code world.apply(r)}, in gradient
   * buckets of {@code bucketBytes} ({@code 0}: one round; {@code -1}: the {@link Tower} default for
   * that collective); at step {@code nanStep} (-1: never) the last tower's shard holds a NaN;
   * {@code frozenConv1} freezes the first layer, so backward stops before it (a frozen prefix).
   */
  record Variant(
      java.util.function.IntFunction<Collective> world,
      long bucketBytes,
      int nanStep,
      boolean frozenConv1) {}

  static Outcome run(final Setup s, final int layoutTowers, final Variant v) throws Exception {
    return run(s, layoutTowers, v, 0);
  }

  /**
   * {@link #run(Setup, int, Variant)} with every tower set to {@link Tower#accumulateOver}{@code
   * (microBatches)} ({@code 0}: never called, the default tower).
   */
  static Outcome run(final Setup s, final int layoutTowers, final Variant v, final int microBatches)
      throws Exception {
    final java.util.function.IntFunction<Collective> world = v.world();
    final long bucketBytes = v.bucketBytes();
    final int nanStep = v.nanStep();
    final int n = s.towers();
    final SyncGroups groupLayout = SyncGroups.of(n, s.syncGroupSize());
    final InProcessGroups syncGroups = new InProcessGroups();
    final AtomicLong reductions = new AtomicLong();
    final List<Tower> towers = new ArrayList<>();
    final List<Recording> optimizers = new ArrayList<>();
    final List<StepContext> contexts = new ArrayList<>();
    for (int r = 0; r < n; r++) {
      final Model m = model(s.net(), s.frozenFirstBn(), v.frozenConv1());
      final Recording opt =
          new Recording(s.optimizer().create(m.parameters(), m.trainableRanges()));
      optimizers.add(opt);
      final SoftmaxCrossEntropy loss = new SoftmaxCrossEntropy(1, CLASSES, DataType.DOUBLE);
      towers.add(
          bucketBytes < 0
              ? new Tower(m, loss, opt, world.apply(r))
              : new Tower(m, loss, opt, world.apply(r), bucketBytes));
      if (microBatches > 0) {
        towers.get(r).accumulateOver(microBatches);
      }
      final Collective group = groupLayout.openSyncGroup(syncGroups.forRank(r), r);
      final StatsReducer reducer =
          s.bn() == BnTraining.SYNC
              ? StatsReducer.of(
                  group.rank(),
                  group.size(),
                  p -> {
                    reductions.incrementAndGet();
                    group.allReduceSum(p);
                  })
              : StatsReducer.LOCAL;
      contexts.add(new StepContext(true, s.bn(), s.ghostBatch(), reducer, 5, 0, 0, 0));
    }
    final Setup layout = s.withTowers(layoutTowers, s.bn(), s.ghostBatch(), s.syncGroupSize());
    final double[] losses = new double[s.steps()];
    final List<double[]> gradients = new ArrayList<>();
    final List<List<Long>> hashes = new ArrayList<>();
    final boolean[] skipped = new boolean[s.steps()];
    final ExecutorService pool = Executors.newFixedThreadPool(n);
    try {
      for (int step = 0; step < s.steps(); step++) {
        final INDArray x = batchInputs(layout, step);
        final int[] labels = batchLabels(layout, step);
        final List<Future<StepResult>> results = new ArrayList<>();
        for (int r = 0; r < n; r++) {
          final int offset = Shards.offset(s.globalBatch(), n, r);
          final int size = Shards.size(s.globalBatch(), n, r);
          final INDArray shard =
              size == 0 ? null : x.get(NDArrayIndex.interval(offset, offset + size)).dup();
          if (step == nanStep && r == n - 1 && shard != null) {
            shard.putScalar(0, Double.NaN);
          }
          final int[] shardLabels = new int[size];
          System.arraycopy(labels, offset, shardLabels, 0, size);
          final Tower tower = towers.get(r);
          final StepContext ctx = contexts.get(r).at(step, offset, s.globalBatch());
          results.add(pool.submit(() -> tower.trainStep(shard, shardLabels, ctx, 0.05)));
        }
        double loss = 0;
        for (final Future<StepResult> f : results) {
          final StepResult result = f.get();
          loss += result.metrics().lossSum();
          skipped[step] |= result.skipped();
        }
        losses[step] = loss;
        gradients.add(optimizers.get(0).lastGradient);
        final List<Long> stepHashes = new ArrayList<>();
        for (int r = 0; r < n; r++) {
          stepHashes.add(ReplicaHash.of(towers.get(r).model(), towers.get(r).optimizer().state()));
        }
        hashes.add(stepHashes);
      }
    } finally {
      pool.shutdownNow();
    }
    final List<double[]> params = new ArrayList<>();
    final List<double[]> states = new ArrayList<>();
    for (final Tower t : towers) {
      params.add(t.model().parameters().toDoubleVector());
      states.add(t.model().state().toDoubleVector());
    }
    return new Outcome(
        losses,
        gradients,
        params,
        states,
        hashes,
        reductions.get() / Math.max(1, s.steps()) / n,
        skipped);
  }

  /** Delegates and keeps a copy of the (reduced) gradient each step applied. */
  private static final class Recording implements Optimizer {
    private final Optimizer delegate;
    double[] lastGradient;

    Recording(final Optimizer delegate) {
      this.delegate = delegate;
    }

    @Override
    public void step(final INDArray params, final INDArray grads, final double lr) {
      lastGradient = grads.toDoubleVector();
      delegate.step(params, grads, lr);
    }

    @Override
    public OptimizerState state() {
      return delegate.state();
    }
  }
}
