package io.synctower.common.backend;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Objects;
import org.nd4j.linalg.api.concurrency.AffinityManager;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The one door to an ND4J array's host memory: every read or write of an array's bytes outside
 * ND4J's own ops goes through here (a source-scanning test, {@code HostMemoryDisciplineTest}, fails
 * the build for any other class that touches {@code data().asNio()}, {@code data().address()}, a
 * JavaCPP pointer or the affinity manager's location calls).
 *
 * <p>Why: on the CUDA backend an array has a host copy and a device copy, and ND4J only knows which
 * one is current if it is told. A write through the host bytes that is not followed by {@code
 * tagLocation(HOST)} leaves the device copy marked current, so the next op runs on stale data
 * (silently wrong gradients, masks or batches); a read of host bytes not preceded by {@code
 * ensureLocation(HOST)} sees the state before the last device op. Here every access is bracketed:
 *
 * <ul>
 *   <li>write: {@code ensureLocation(HOST)} first (the host copy must be current because a write
 *       may touch only part of the buffer), the write, then {@code tagLocation(HOST)} — also when
 *       the write throws, because the host bytes may already have changed;
 *   <li>read: {@code ensureLocation(HOST)} first;
 *   <li>zero-copy transports that hand the raw address to native code: {@link #address} syncs the
 *       host copy, {@link #written} tags it once the bytes have arrived.
 * </ul>
 *
 * <p>On the CPU backend both location calls are empty methods, so this costs nothing there. A
 * {@link Bound} caches its array's NIO view, so a hot loop that keeps one per array (the batch
 * tensor, a dropout mask, a gradient buffer) allocates nothing per step; the static shortcuts
 * create one view per call, as {@code data().asNio()} itself does.
 *
 * <p>Views span the array's whole underlying buffer in native byte order: index them with {@code
 * (array.offset() + i * stride) * width}.
 */
public final class HostMemory {
  private static final AffinityManager.Location HOST = AffinityManager.Location.HOST;

  /** Writes into {@code bytes}, the host memory of {@code target}, using {@code context}. */
  @FunctionalInterface
  public interface Writer<C> {
    void write(ByteBuffer bytes, INDArray target, C context);
  }

  private HostMemory() {}

  /** A reusable handle on {@code array}'s host memory (one per array; caches its view). */
  public static Bound bind(final INDArray array) {
    return new Bound(array, null);
  }

  /** The same, with an explicit affinity manager (tests record the location calls). */
  static Bound bind(final INDArray array, final AffinityManager affinity) {
    return new Bound(array, Objects.requireNonNull(affinity, "affinity"));
  }

  /** One bracketed write into {@code target} (see the class comment); allocates one view. */
  public static <C> void write(final INDArray target, final C context, final Writer<C> writer) {
    new Bound(target, null).write(context, writer);
  }

  /** A read-only view of {@code source}'s host memory, current as of now. */
  public static ByteBuffer read(final INDArray source) {
    return new Bound(source, null).read();
  }

  /**
   * The host address of {@code array}'s first element, after making the host copy current: for
   * native code (Aeron) that reads or writes the bytes directly. After writing through it, call
   * {@link #written}. Allocates nothing.
   */
  public static long address(final INDArray array) {
    affinity(null).ensureLocation(array, HOST);
    return array.data().address() + array.offset() * array.dataType().width();
  }

  /**
   * Marks the host copy of {@code array} as the current one after a write through {@link #address}.
   */
  public static void written(final INDArray array) {
    affinity(null).tagLocation(array, HOST);
  }

  private static AffinityManager affinity(final AffinityManager fixed) {
    return fixed != null ? fixed : Nd4j.getAffinityManager();
  }

  /** An array and its cached host view; not thread-safe (one per owning thread, like the array). */
  public static final class Bound {
    private final INDArray array;
    private final AffinityManager affinity;
    private ByteBuffer bytes;
    private ByteBuffer readOnly;

    private Bound(final INDArray array, final AffinityManager affinity) {
      this.array = Objects.requireNonNull(array, "array");
      this.affinity = affinity;
    }

    public INDArray array() {
      return array;
    }

    /**
     * Makes the host copy current, lets {@code writer} write into it, then marks the host copy as
     * the current one (also if the writer throws).
     */
    public <C> void write(final C context, final Writer<C> writer) {
      final AffinityManager a = affinity(affinity);
      a.ensureLocation(array, HOST);
      try {
        writer.write(view(), array, context);
      } finally {
        a.tagLocation(array, HOST);
      }
    }

    /** A read-only view of the host memory, made current first. */
    public ByteBuffer read() {
      affinity(affinity).ensureLocation(array, HOST);
      if (readOnly == null) {
        readOnly = view().asReadOnlyBuffer().order(ByteOrder.nativeOrder());
      }
      return readOnly;
    }

    // Created after the first ensureLocation: a device backend may allocate host memory lazily.
    private ByteBuffer view() {
      if (bytes == null) {
        bytes = array.data().asNio().order(ByteOrder.nativeOrder());
      }
      return bytes;
    }
  }
}
