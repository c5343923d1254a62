package io.synctower.common.nn;

import org.nd4j.linalg.api.buffer.DataType;

/**
 * Which ND4J ops each layer kind calls and which engine runs them on the loaded native build, for
 * {@code bench step --profile}. A static table, not a measurement: it follows from the layer code
 * and from libnd4j 1.0.0-M2.1's platform helpers. The {@code -onednn} builds route {@code conv2d},
 * {@code conv2d_bp}, {@code maxpool2d}, {@code maxpool2d_bp} and {@code matmul} ({@code Nd4j.gemm})
 * to oneDNN primitives for float32 (and {@code avgpool2d}, {@code avgpool2d_bp} likewise); oneDNN
 * 2.5 has no float64 kernels, so float64 falls back to libnd4j's generic code, as everything does
 * on the plain build: im2col plus a BLAS GEMM (OpenBLAS) for convolutions, OpenBLAS for {@code
 * matmul}, libnd4j's own OpenMP loops for pooling. Element-wise ops (ReLU, BatchNorm's gradient
 * passes, dropout's multiply, flatten's copy) are libnd4j loops on every build (in float32
 * BatchNorm's per-channel maps run as libnd4j's {@code batchnorm} op, oneDNN on the {@code -onednn}
 * builds); BatchNorm's per-channel sums are GEMMs with a column of ones ({@link
 * io.synctower.common.bn.ChannelSums}), so they run where {@code matmul} runs. Running a step with
 * {@code DNNL_VERBOSE=1} (oneDNN prints one {@code dnnl_verbose,exec,...} line per primitive it
 * runs) confirms the oneDNN rows on a given machine; the README's "Performance" section shows such
 * a check. One row follows the run: a {@link Conv2D} that is the model's first layer running
 * backward, with few input channels, computes only its weight gradient ({@link ConvWeightGradient}:
 * libnd4j strided copies, then one GEMM), which the row names once that backward has run.
 */
public final class OpEngines {
  /**
   * The ops of one layer in one direction and the engine that runs them.
   *
   * @param ops ND4J op names joined by {@code +}, or {@code view} when nothing is computed
   * @param engine {@code oneDNN}, {@code OpenBLAS}, {@code libnd4j loops}, {@code Java}, or a
   *     combination joined by {@code +}
   */
  public record Engine(String ops, String engine) {}

  static final String ONEDNN = "oneDNN";
  static final String BLAS = "OpenBLAS";
  static final String LOOPS = "libnd4j loops";

  private OpEngines() {}

  /**
   * The ops and engine of {@code layer} in one direction.
   *
   * @param nativeBuild the loaded build's suffix ({@code -onednn-avx512}, "" for the plain build;
   *     {@link io.synctower.common.backend.LoadedBackend#nativeBuild()}), or {@code null} when
   *     unknown or not a CPU build
   * @param cpu whether ND4J's CPU backend runs the model (on CUDA the table does not apply)
   */
  public static Engine of(
      final Layer layer,
      final DataType dtype,
      final String nativeBuild,
      final boolean cpu,
      final boolean backward) {
    if (!cpu) {
      return new Engine(opsOf(layer, dtype, backward), "CUDA (not broken down)");
    }
    final boolean onednn =
        nativeBuild != null && nativeBuild.startsWith("-onednn") && dtype == DataType.FLOAT;
    final String ops = opsOf(layer, dtype, backward);
    final String engine;
    if (layer instanceof Conv2D conv && backward && conv.lastBackwardSkippedInputGradient()) {
      // ConvWeightGradient: strided copies (im2col by views), then one GEMM.
      engine = LOOPS + " + " + (onednn ? ONEDNN : BLAS);
    } else if (layer instanceof Conv2D) {
      engine = onednn ? ONEDNN : "libnd4j im2col + " + BLAS;
    } else if (layer instanceof Dense) {
      // The GEMMs, then the bias add (forward) or the bias gradient's column sum (backward).
      engine = (onednn ? ONEDNN : BLAS) + " + " + LOOPS;
    } else if (layer instanceof MaxPool2D || layer instanceof AvgPool2D) {
      engine = onednn ? ONEDNN : LOOPS;
    } else if (layer instanceof Dropout) {
      engine = backward ? LOOPS : "Java (mask) + " + LOOPS;
    } else if (layer instanceof Reshape
        || (layer instanceof ResidualJunction.Part part && part.ops(backward).equals("view"))) {
      engine = "none";
    } else if (layer instanceof UnionStatisticsLayer) {
      // The per-channel sums as GEMMs (float32 blocks, their sums added by a float64 GEMM, which
      // oneDNN 2.5 cannot run), then element-wise passes: in float32 the per-channel maps are
      // libnd4j's batchnorm op (FusedAffine), which oneDNN runs on the -onednn builds.
      engine =
          (onednn ? ONEDNN + "/" + BLAS : BLAS)
              + " gemm + "
              + (onednn ? ONEDNN + " batchnorm + " + LOOPS : LOOPS);
    } else {
      // Relu, Flatten, GlobalAvgPool, a residual block's add.
      engine = LOOPS;
    }
    return new Engine(ops, engine);
  }

  private static String opsOf(final Layer layer, final DataType dtype, final boolean backward) {
    if (layer instanceof Conv2D conv) {
      if (backward && conv.lastBackwardSkippedInputGradient()) {
        return "assign(im2col)+matmul";
      }
      return backward ? "conv2d_bp" : "conv2d";
    }
    if (layer instanceof Dense) {
      return backward ? "matmul+sum+matmul" : "matmul+add";
    }
    if (layer instanceof MaxPool2D) {
      return backward ? "maxpool2d_bp" : "maxpool2d";
    }
    if (layer instanceof AvgPool2D) {
      return backward ? "avgpool2d_bp" : "avgpool2d";
    }
    if (layer instanceof GlobalAvgPool) {
      return backward ? "reduce_mean_bp" : "reduce_mean";
    }
    if (layer instanceof Relu) {
      // Backward: step(x) into dx, then dx *= dy (libnd4j's relu_bp measured 3-5x slower).
      return backward ? "step+multiply" : "relu";
    }
    if (layer instanceof Dropout) {
      return "multiply";
    }
    if (layer instanceof Flatten) {
      return "assign(permute)";
    }
    if (layer instanceof Reshape) {
      return "view";
    }
    if (layer instanceof ResidualJunction.Part part) {
      return part.ops(backward);
    }
    if (layer instanceof UnionStatisticsLayer) {
      return dtype == DataType.FLOAT
          ? "gemm(sums)+batchnorm(maps)+elementwise"
          : "gemm(sums)+elementwise";
    }
    return "unknown";
  }
}
