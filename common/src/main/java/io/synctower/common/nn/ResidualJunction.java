package io.synctower.common.nn;

import java.util.List;
import java.util.Objects;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The three parameter-free layers that make a residual block {@code out = main(x) + shortcut(x)}
 * (He et al. 2016) out of a flat layer list, so that {@link Model} stays sequential:
 *
 * <pre>
 * [fork] [main layers...] [shortcut] [shortcut layers...] [add] (then a ReLU, an ordinary layer)
 * </pre>
 *
 * <p>They share this object, which holds references (never copies) between them:
 *
 * <ul>
 *   <li>forward: {@code fork} keeps x and returns it; the main layers run; {@code shortcut} keeps
 *       the main branch's output and returns x again; the shortcut layers run (none: the identity);
 *       {@code add} writes main + shortcut into its own buffer. x is the previous layer's output,
 *       which by the {@link Layer} contract stays unchanged until that layer's backward, so both
 *       branches may read it.
 *   <li>backward (reverse order): {@code add} hands dy itself to the shortcut layers and, for the
 *       main branch, a copy in its own buffer (both branches need dy, and a layer's backward may
 *       overwrite the dy it is given), or dy itself when every branch layer only reads its dy
 *       ({@link Layer#mayOverwriteGradient()}; {@link #add(Shape, List)} is told the layers);
 *       {@code shortcut} keeps the shortcut branch's dL/dx and hands the copy (or dy) to the main
 *       layers; {@code fork} returns main's dL/dx + shortcut's dL/dx in its own buffer. The
 *       shortcut's dL/dx is a buffer of a shortcut layer, or for the identity the dy given to
 *       {@code add}: no main layer writes either before {@code fork} reads it.
 * </ul>
 *
 * <p>The model's backward may stop inside a block (a frozen prefix: it stops at the first layer
 * with trainable parameters): then {@code fork} never runs backward, which is right, since every
 * layer before that one, the fork included, has nothing to train. Buffers are per batch size
 * ({@link PerBatchSize}); forward allocates nothing in the steady state, and neither does backward.
 * One junction serves one block of one model replica, on the replica's thread.
 */
public final class ResidualJunction {
  private final String block;
  private final Shape input;
  private final DataType dtype;
  private Shape output;
  // Set in forward, read until the matching backward; references to arrays other layers own.
  private INDArray x;
  private INDArray mainOut;
  // Set by the shortcut's backward, read by the fork's: the shortcut branch's dL/dx.
  private INDArray shortcutGradient;
  // Set by the add's backward when the branches share dL/dout: the dy it was given.
  private INDArray sharedGradient;
  private PerBatchSize<INDArray> mainGradient;
  // Whether both branches get the add's dy itself (no branch layer writes into its dy).
  private boolean shareGradient;
  private final PerBatchSize<INDArray> sum;
  private final PerBatchSize<INDArray> inputGradient;

  /**
   * @param block the block's name; the layers are {@code <block>.fork}, {@code <block>.shortcut}
   *     and {@code <block>.add}
   * @param input the block's per-sample input shape
   */
  public ResidualJunction(final String block, final Shape input, final DataType dtype) {
    this.block = Objects.requireNonNull(block, "block");
    this.input = Objects.requireNonNull(input, "input");
    this.dtype = Objects.requireNonNull(dtype, "dtype");
    this.sum = new PerBatchSize<>(n -> Nd4j.create(this.dtype, output.withBatch(n)));
    this.inputGradient = new PerBatchSize<>(n -> Nd4j.create(this.dtype, this.input.withBatch(n)));
  }

  /** A junction layer, as the profile's op table names its work in each direction. */
  interface Part extends Layer {
    /** The ND4J ops of one call, {@code view} where it only hands a reference on. */
    String ops(boolean backward);
  }

  /** The layer that starts the block (before the main layers). */
  public Layer fork() {
    return new ResidualFork();
  }

  /**
   * The layer between the main layers and the shortcut layers.
   *
   * @param mainOutput the main branch's per-sample output shape
   */
  public Layer shortcut(final Shape mainOutput) {
    this.output = Objects.requireNonNull(mainOutput, "mainOutput");
    this.mainGradient = new PerBatchSize<>(n -> Nd4j.create(dtype, mainOutput.withBatch(n)));
    return new ResidualShortcut(mainOutput);
  }

  /**
   * The layer that ends the block (after the shortcut layers), for branches whose layers are not
   * known here: its backward copies dL/dout for the main branch.
   *
   * @param shortcutOutput the shortcut branch's per-sample output shape (the block's input for an
   *     identity shortcut)
   * @throws ShapeException naming the block, both shapes and the fix when the branches differ
   */
  public Layer add(final Shape shortcutOutput) {
    return add(shortcutOutput, null);
  }

  /**
   * The layer that ends the block, given every layer of both branches ({@code branchLayers}, the
   * junction's own shortcut layer may be among them). When none of them writes into the dy its
   * backward is given ({@link Layer#mayOverwriteGradient()} false for all), the add's backward
   * hands dL/dout itself to both branches instead of a copy: both only read it.
   *
   * @param branchLayers the main and shortcut layers, or null when not known (then it copies)
   * @throws ShapeException naming the block, both shapes and the fix when the branches differ
   */
  public Layer add(final Shape shortcutOutput, final List<Layer> branchLayers) {
    if (output == null) {
      throw new IllegalStateException("create the shortcut layer before the add layer");
    }
    if (!output.equals(shortcutOutput)) {
      throw new ShapeException(block, mismatch(output, shortcutOutput));
    }
    shareGradient = branchLayers != null && readOnlyGradient(branchLayers);
    return new ResidualAdd();
  }

  /** Whether no layer in {@code layers} writes into the dy its backward is given. */
  private static boolean readOnlyGradient(final List<Layer> layers) {
    for (final Layer layer : layers) {
      if (layer.mayOverwriteGradient()) {
        return false;
      }
    }
    return true;
  }

  /** The problem and the fix when the main branch's output is not the shortcut's. */
  private String mismatch(final Shape main, final Shape shortcut) {
    final String fix;
    if (main.isImage() && input.isImage()) {
      final int stride = Math.max(1, ceilDiv(input.height(), main.height()));
      fix =
          "give the block a projection shortcut: shortcut: [{type: conv2d, filters: "
              + main.channels()
              + ", kernel: 1, stride: "
              + stride
              + ", bias: false}, {type: batchnorm}]";
    } else if (main.rank() == 1) {
      fix =
          "give the block a projection shortcut: shortcut: [{type: dense, units: "
              + main.dim(0)
              + ", bias: false}, {type: batchnorm}]";
    } else {
      fix = "make the main branch end in the shape of the shortcut's output";
    }
    return "residual block: the main branch (layers) outputs "
        + main
        + " per sample but the shortcut outputs "
        + shortcut
        + (shortcut.equals(input) ? " (the identity: the block's input)" : "")
        + "; the two are added, so they must be equal; "
        + fix;
  }

  private static int ceilDiv(final int a, final int b) {
    return (a + b - 1) / b;
  }

  /** Starts the block: keeps x for the shortcut; backward adds both branches' dL/dx. */
  private final class ResidualFork implements Part {
    @Override
    public String ops(final boolean backward) {
      return backward ? "add" : "view";
    }

    @Override
    public String name() {
      return block + ".fork";
    }

    @Override
    public Shape inputShape() {
      return input;
    }

    @Override
    public Shape outputShape() {
      return input;
    }

    /** Returns {@code x} itself (no copy). */
    @Override
    public INDArray forward(final INDArray in, final StepContext ctx) {
      x = in;
      return in;
    }

    @Override
    public boolean mayOverwriteGradient() {
      return false;
    }

    /** Returns {@code dy + dShortcut} in a buffer of its own. */
    @Override
    public INDArray backward(final INDArray dy, final StepContext ctx) {
      final INDArray dx = inputGradient.get((int) dy.size(0));
      return dy.add(shortcutGradient, dx);
    }
  }

  /** Between the branches: keeps the main output, gives x to the shortcut layers. */
  private final class ResidualShortcut implements Part {
    @Override
    public String ops(final boolean backward) {
      return "view";
    }

    private final Shape mainOutput;

    ResidualShortcut(final Shape mainOutput) {
      this.mainOutput = mainOutput;
    }

    @Override
    public String name() {
      return block + ".shortcut";
    }

    @Override
    public Shape inputShape() {
      return mainOutput;
    }

    @Override
    public Shape outputShape() {
      return input;
    }

    /** Returns the block's input (the fork's, no copy). */
    @Override
    public INDArray forward(final INDArray main, final StepContext ctx) {
      mainOut = main;
      return x;
    }

    /**
     * Keeps {@code dy} (the shortcut's dL/dx) and returns dL/dout for the main branch: the add
     * layer's copy, or the add's dy itself when the branches share it.
     */
    @Override
    public INDArray backward(final INDArray dy, final StepContext ctx) {
      shortcutGradient = dy;
      return shareGradient ? sharedGradient : mainGradient.get((int) dy.size(0));
    }

    /** The junction layers never write into the dy they are given. */
    @Override
    public boolean mayOverwriteGradient() {
      return false;
    }
  }

  /** Ends the block: main + shortcut. */
  private final class ResidualAdd implements Part {
    @Override
    public String ops(final boolean backward) {
      if (!backward) {
        return "add";
      }
      return shareGradient ? "view" : "assign";
    }

    @Override
    public String name() {
      return block + ".add";
    }

    @Override
    public Shape inputShape() {
      return output;
    }

    @Override
    public Shape outputShape() {
      return output;
    }

    /** Returns main + shortcut in a buffer of its own. */
    @Override
    public INDArray forward(final INDArray shortcut, final StepContext ctx) {
      return mainOut.add(shortcut, sum.get((int) shortcut.size(0)));
    }

    /**
     * Returns {@code dy} itself to the shortcut's layers and keeps it for the main branch, copied
     * unless the branches share it (no branch layer writes into its dy).
     */
    @Override
    public INDArray backward(final INDArray dy, final StepContext ctx) {
      if (shareGradient) {
        sharedGradient = dy;
      } else {
        mainGradient.get((int) dy.size(0)).assign(dy);
      }
      return dy;
    }

    @Override
    public boolean mayOverwriteGradient() {
      return false;
    }
  }
}
