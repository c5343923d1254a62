package io.synctower.common.checkpoint;

import io.synctower.common.backend.HostMemory;
import io.synctower.common.data.Npy;
import io.synctower.common.data.NpyArray;
import io.synctower.common.data.NpyDtype;
import io.synctower.common.nn.Model;
import io.synctower.common.nn.Shape;
import io.synctower.common.optim.Optimizer;
import io.synctower.common.optim.OptimizerState;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.WritableByteChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A replica's training state as checkpoint files: the flat parameter buffer, the BN moving
 * statistics, every optimizer buffer and the optimizer's update counter.
 *
 * <p>The writer's loop (the tower that checkpoints; replicas are identical):
 *
 * <pre>{@code
 * TrainingSnapshot snapshot = new TrainingSnapshot(model, optimizer);  // buffers allocated once
 * ... at a checkpoint step, between steps, on the tower's thread:
 * snapshot.capture(model, optimizer);              // copies of the flat buffers, nothing else
 * store.commit(step, snapshot.files(), keep);       // on a background thread; training goes on
 * }</pre>
 *
 * <p>The training thread is stalled only for the copies; serializing and fsync happen on the
 * writer's thread from the copies. A snapshot must not be captured again before the previous commit
 * finished. Files: {@code parameters.npy}, {@code state.npy}, {@code optimizer.<name>.npy} (flat
 * float32/float64 arrays NumPy reads) and {@code replica.yaml} (data type, lengths, tensor keys,
 * optimizer buffers and update count), which {@link #restore} checks before writing anything into a
 * replica.
 */
public final class TrainingSnapshot {
  public static final String PARAMETERS = "parameters.npy";
  public static final String STATE = "state.npy";
  public static final String REPLICA = "replica.yaml";

  private final INDArray parameters;
  private final INDArray state;
  private final List<String> optimizerNames;
  private final List<INDArray> optimizerBuffers = new ArrayList<>();
  private final String layout;
  private long updates;

  /** Allocates copies the size of {@code model}'s flat buffers and {@code optimizer}'s state. */
  public TrainingSnapshot(final Model model, final Optimizer optimizer) {
    this.parameters = detachedLike(model.parameters());
    this.state = detachedLike(model.state());
    final OptimizerState s = optimizer.state();
    this.optimizerNames = List.copyOf(s.names());
    for (final INDArray b : s.buffers()) {
      optimizerBuffers.add(detachedLike(b));
    }
    this.layout = layout(model, optimizer);
  }

  /**
   * Copies the replica's current state into this snapshot (the only work on the tower's thread).
   */
  public void capture(final Model model, final Optimizer optimizer) {
    parameters.assign(model.parameters());
    state.assign(model.state());
    final List<INDArray> buffers = optimizer.state().buffers();
    for (int i = 0; i < buffers.size(); i++) {
      optimizerBuffers.get(i).assign(buffers.get(i));
    }
    updates = optimizer.state().updates();
  }

  /** The captured state as checkpoint files, written from the copies when the store asks. */
  public List<CheckpointFile> files() {
    final List<CheckpointFile> files = new ArrayList<>();
    files.add(new CheckpointFile(PARAMETERS, out -> writeNpy(parameters, out)));
    files.add(new CheckpointFile(STATE, out -> writeNpy(state, out)));
    for (int i = 0; i < optimizerNames.size(); i++) {
      final INDArray b = optimizerBuffers.get(i);
      files.add(new CheckpointFile(optimizerFile(optimizerNames.get(i)), out -> writeNpy(b, out)));
    }
    files.add(CheckpointFile.ofText(REPLICA, layout + "updates: " + updates + "\n"));
    return files;
  }

  /**
   * Loads a checkpoint's training state into {@code model} and {@code optimizer}.
   *
   * @throws CheckpointException naming the checkpoint and the difference when it was written by a
   *     model of another architecture, data type or optimizer; the replica is then untouched
   */
  public static void restore(
      final StoredCheckpoint checkpoint, final Model model, final Optimizer optimizer) {
    final String expected = layout(model, optimizer);
    final String stored = checkpoint.text(REPLICA);
    final String storedLayout = stored.substring(0, stored.lastIndexOf("updates: "));
    if (!storedLayout.equals(expected)) {
      throw new CheckpointException(
          checkpoint.directory()
              + " was written by another model or optimizer: "
              + firstDifference(storedLayout, expected)
              + ". Resume with the config the run was started with (its config.yaml is in the"
              + " checkpoint), or start a new run");
    }
    final long updates =
        Long.parseLong(stored.substring(stored.lastIndexOf("updates: ") + 9).trim());
    // Read everything first, then assign: a bad file leaves the replica as it was.
    final INDArray p = readNpy(checkpoint, PARAMETERS, model.parameters());
    final INDArray s = readNpy(checkpoint, STATE, model.state());
    final OptimizerState os = optimizer.state();
    final List<INDArray> o = new ArrayList<>();
    for (int i = 0; i < os.names().size(); i++) {
      o.add(readNpy(checkpoint, optimizerFile(os.names().get(i)), os.buffers().get(i)));
    }
    model.parameters().assign(p);
    model.state().assign(s);
    for (int i = 0; i < o.size(); i++) {
      os.buffers().get(i).assign(o.get(i));
    }
    os.setUpdates(updates);
  }

  private static String optimizerFile(final String name) {
    return "optimizer." + name + ".npy";
  }

  /**
   * Loads only a checkpoint's parameters and moving statistics into {@code model} (export, or a
   * replica without an optimizer).
   *
   * @throws CheckpointException when it was written by another model
   */
  public static void restoreWeights(final StoredCheckpoint checkpoint, final Model model) {
    final String expected = modelLayout(model);
    final String stored = checkpoint.text(REPLICA);
    final String storedModel = stored.substring(0, stored.indexOf("optimizer: "));
    if (!storedModel.equals(expected)) {
      throw new CheckpointException(
          checkpoint.directory()
              + " was written by another model: "
              + firstDifference(storedModel, expected));
    }
    final INDArray p = readNpy(checkpoint, PARAMETERS, model.parameters());
    final INDArray s = readNpy(checkpoint, STATE, model.state());
    model.parameters().assign(p);
    model.state().assign(s);
  }

  /** The per-sample input shape of the model that wrote {@code checkpoint}. */
  public static Shape inputShape(final StoredCheckpoint checkpoint) {
    for (final String line : checkpoint.text(REPLICA).split("\n")) {
      if (line.startsWith("input: ")) {
        final String[] parts = line.substring(7).replaceAll("[\\[\\]\\s]", "").split(",");
        final int[] dims = new int[parts.length];
        for (int i = 0; i < dims.length; i++) {
          dims[i] = Integer.parseInt(parts[i]);
        }
        return new Shape(dims);
      }
    }
    throw new CheckpointException(checkpoint.file(REPLICA) + " has no 'input:' line");
  }

  /** What a checkpoint must match to be loaded into this replica, as YAML lines. */
  private static String layout(final Model model, final Optimizer optimizer) {
    return modelLayout(model)
        + "optimizer: "
        + optimizer.getClass().getSimpleName()
        + "\n"
        + "optimizerBuffers: "
        + optimizer.state().names()
        + "\n";
  }

  private static String modelLayout(final Model model) {
    final StringBuilder b = new StringBuilder();
    b.append("input: ").append(java.util.Arrays.toString(model.inputShape().dims())).append('\n');
    b.append("dtype: ").append(model.dataType().name().toLowerCase(Locale.ROOT)).append('\n');
    b.append("parameters: ").append(model.parameters().length()).append('\n');
    b.append("state: ").append(model.state().length()).append('\n');
    b.append("tensors:\n");
    for (final Model.Tensor t : model.tensors()) {
      b.append("  - ").append(t.key()).append(' ').append(t.spec().length()).append('\n');
    }
    return b.toString();
  }

  private static String firstDifference(final String stored, final String expected) {
    final String[] a = stored.split("\n");
    final String[] e = expected.split("\n");
    for (int i = 0; i < Math.max(a.length, e.length); i++) {
      final String x = i < a.length ? a[i].trim() : "(nothing)";
      final String y = i < e.length ? e[i].trim() : "(nothing)";
      if (!x.equals(y)) {
        return "checkpoint has '" + x + "', this run has '" + y + "'";
      }
    }
    return "layouts differ";
  }

  private static INDArray detachedLike(final INDArray a) {
    return Nd4j.create(a.dataType(), a.length());
  }

  private static void writeNpy(final INDArray a, final WritableByteChannel out) throws IOException {
    if (ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN) {
      throw new IOException("checkpoints are written on little-endian machines only");
    }
    final NpyDtype dtype = a.dataType() == DataType.DOUBLE ? NpyDtype.FLOAT64 : NpyDtype.FLOAT32;
    writeFully(out, ByteBuffer.wrap(Npy.header(dtype, new long[] {a.length()})));
    // The snapshot is detached and contiguous: its native memory is exactly the elements.
    final ByteBuffer data = HostMemory.read(a).duplicate();
    data.limit((int) (a.length() * dtype.itemSize()));
    data.position(0);
    writeFully(out, data);
  }

  private static void writeFully(final WritableByteChannel out, final ByteBuffer b)
      throws IOException {
    while (b.hasRemaining()) {
      out.write(b);
    }
  }

  private static INDArray readNpy(
      final StoredCheckpoint checkpoint, final String name, final INDArray target) {
    final NpyArray a = Npy.read(checkpoint.file(name));
    if (a.elementCount() != target.length()) {
      throw new CheckpointException(
          checkpoint.file(name)
              + " holds "
              + a.elementCount()
              + " values, this replica needs "
              + target.length());
    }
    final INDArray values =
        a.dtype() == NpyDtype.FLOAT64
            ? Nd4j.createFromArray(a.toDoubleArray())
            : Nd4j.createFromArray(a.toFloatArray());
    return values.castTo(target.dataType());
  }
}
