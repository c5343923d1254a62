package io.synctower.worker;

import io.synctower.common.comm.Collective;
import io.synctower.common.nn.Model;
import io.synctower.common.nn.NonFinite;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.IntConsumer;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * A tower's gradient all-reduce overlapped with its backward pass, as PyTorch DDP does it: the flat
 * gradient buffer is cut into buckets at layer boundaries, last layer first (the order backward
 * finishes them), and each bucket goes to the other towers ({@link Collective#allReduceSumRange})
 * on a communication thread as soon as backward has passed it, while the earlier layers still
 * compute. After backward the BN union partials and the non-finite flag follow in one small round;
 * {@link #await} returns when all of it is reduced, and only then does the step apply anything.
 *
 * <pre>{@code
 * GradientBuckets buckets = new GradientBuckets(model, world, 1 << 20, "tower-0");
 * // each step, on the tower's thread:
 * buckets.beginStep();
 * model.backward(dLogits, ctx, buckets.layerDone());  // buckets leave during backward
 * buckets.finishBackward();                            // the rest (frozen prefix included)
 * flag.putScalar(0, lossNonFinite || buckets.localNonFinite() ? 1 : 0);
 * buckets.reduceAfterGradients(model.unionStatistics(), flag);
 * buckets.await();                                     // everything reduced: apply or skip
 * }</pre>
 *
 * <p>Bits: every element is summed in the order one {@code allReduceSum(gradients)} gives it (the
 * whole buffer's chunks, see {@link Collective#allReduceSumRange}), and the union partials and the
 * flag in the order they had when they shared that round (each buffer is chunked on its own), so a
 * step reduced in buckets ends bit for bit as the unbucketed step, for any bucket size and any
 * tower count. The plan depends only on the model and the bucket size, so every tower, one with an
 * empty shard included, issues the same rounds in the same order.
 *
 * <p>Non-finite steps: each bucket is tested for NaN and Inf on the tower's thread before it is
 * sent (one sum per bucket, as the unbucketed step's one sum over the buffer), so the flag is this
 * tower's own verdict; the reduced gradients of a non-finite step are left unused (the caller
 * applies nothing), exactly as before.
 *
 * <p>Threads: the methods are for the tower's thread; the communication thread is the only user of
 * the collective between {@link #beginStep} and the end of {@link #await}, and the tower's thread
 * may use it again after that (the lock orders the two). The thread is started on first use and
 * ends after {@link #IDLE_EXIT_SECONDS} without work, so a discarded tower leaves no thread behind.
 * Nothing is allocated per step.
 */
public final class GradientBuckets {
  /** Seconds the communication thread waits for work before it ends (restarted on demand). */
  static final long IDLE_EXIT_SECONDS = 10;

  private final Collective world;
  private final INDArray gradients;
  private final String threadName;
  private final long[] from;
  private final long[] to;
  private final INDArray[] views;
  // bucketAfterLayer[i]: the bucket that backward completes with layer i, or -1.
  private final int[] bucketAfterLayer;
  private final IntConsumer layerDone = this::onLayerDone;

  private final ReentrantLock lock = new ReentrantLock();
  private final Condition workArrived = lock.newCondition();
  private final Condition workDone = lock.newCondition();
  // Guarded by lock.
  private int submitted;
  private int completed;
  private INDArray[] lastRound;
  private boolean lastRoundDone;
  private Throwable failure;
  private Thread thread;

  // Tower thread only.
  private boolean localNonFinite;

  /**
   * @param bucketBytes a bucket closes at the first layer boundary where it holds at least this
   *     many bytes of gradient; at least 1
   * @param threadName prefix of the communication thread's name (e.g. the tower's)
   */
  public GradientBuckets(
      final Model model, final Collective world, final long bucketBytes, final String threadName) {
    Objects.requireNonNull(model, "model");
    this.world = Objects.requireNonNull(world, "world");
    this.threadName = Objects.requireNonNull(threadName, "threadName");
    if (bucketBytes < 1) {
      throw new IllegalArgumentException("bucketBytes must be at least 1, got " + bucketBytes);
    }
    this.gradients = model.gradients();
    final long bucketElements =
        Math.max(1, bucketBytes / Math.max(1, gradients.dataType().width()));
    final int layers = model.layers().size();
    this.bucketAfterLayer = new int[layers];
    java.util.Arrays.fill(bucketAfterLayer, -1);
    final List<long[]> plan = new ArrayList<>();
    long end = gradients.length();
    for (int i = layers - 1; i >= model.firstLayerNeedingGradient(); i--) {
      final long start = model.gradientStart(i);
      if (end - start >= bucketElements) {
        bucketAfterLayer[i] = plan.size();
        plan.add(new long[] {start, end});
        end = start;
      }
    }
    if (end > 0) { // the last layers' rest and the frozen prefix, sent after backward
      plan.add(new long[] {0, end});
    }
    final int n = plan.size();
    this.from = new long[n];
    this.to = new long[n];
    this.views = new INDArray[n];
    for (int b = 0; b < n; b++) {
      from[b] = plan.get(b)[0];
      to[b] = plan.get(b)[1];
      views[b] = gradients.get(NDArrayIndex.interval(from[b], to[b]));
    }
  }

  /** Number of gradient buckets per step. */
  public int bucketCount() {
    return from.length;
  }

  /** Bucket b's elements of the gradient buffer, {@code [start, end)}; bucket 0 ends the buffer. */
  public long[] bucket(final int b) {
    return new long[] {from[b], to[b]};
  }

  /** Starts a step: nothing is in flight (the last step's {@link #await} returned). */
  public void beginStep() {
    lock.lock();
    try {
      if (failure != null) {
        throw rethrow(failure);
      }
      submitted = 0;
      completed = 0;
      lastRound = null;
      lastRoundDone = false;
    } finally {
      lock.unlock();
    }
    localNonFinite = false;
  }

  /**
   * The hook for {@link Model#backward(INDArray, io.synctower.common.nn.StepContext, IntConsumer)}.
   */
  public IntConsumer layerDone() {
    return layerDone;
  }

  private void onLayerDone(final int layer) {
    final int b = bucketAfterLayer[layer];
    if (b >= 0) {
      submitUpTo(b + 1);
    }
  }

  /** After backward (or instead of it, for an empty shard): sends every bucket not yet sent. */
  public void finishBackward() {
    submitUpTo(from.length);
  }

  /** Whether any bucket sent this step held a NaN or an infinity before it was reduced. */
  public boolean localNonFinite() {
    return localNonFinite;
  }

  /** After {@link #finishBackward}: one more round, after the gradients, of whole buffers. */
  public void reduceAfterGradients(final INDArray... buffers) {
    lock.lock();
    try {
      lastRound = buffers;
      ensureThread();
      workArrived.signal();
    } finally {
      lock.unlock();
    }
  }

  /**
   * Waits until every bucket and the last round are reduced; rethrows the collective's failure. If
   * this thread is interrupted meanwhile, the communication thread is interrupted too (the
   * collective then aborts, as it would have on this thread) and the interrupt flag stays set.
   */
  public void await() {
    boolean interrupted = false;
    lock.lock();
    try {
      while (failure == null && !lastRoundDone) {
        try {
          workDone.await();
        } catch (InterruptedException e) {
          interrupted = true;
          if (thread != null) {
            thread.interrupt();
          }
        }
      }
      if (failure != null) {
        throw rethrow(failure);
      }
    } finally {
      lock.unlock();
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private void submitUpTo(final int count) {
    for (int b = submitted; b < count; b++) {
      if (!localNonFinite && NonFinite.any(views[b])) {
        localNonFinite = true;
      }
    }
    lock.lock();
    try {
      if (failure != null) {
        throw rethrow(failure);
      }
      if (count > submitted) {
        submitted = count;
        ensureThread();
        workArrived.signal();
      }
    } finally {
      lock.unlock();
    }
  }

  /** The communication thread's failure, as thrown on the tower's thread. */
  private static RuntimeException rethrow(final Throwable f) {
    if (f instanceof Error e) {
      throw e;
    }
    return (RuntimeException) f;
  }

  /** Under lock. */
  private void ensureThread() {
    if (thread == null) {
      thread = new Thread(this::serve, threadName + "-allreduce");
      thread.setDaemon(true);
      thread.start();
    }
  }

  private void serve() {
    while (true) {
      final int b;
      final INDArray[] last;
      lock.lock();
      try {
        long idle = TimeUnit.SECONDS.toNanos(IDLE_EXIT_SECONDS);
        while (completed == submitted && (lastRound == null || lastRoundDone)) {
          if (idle <= 0) {
            thread = null;
            return;
          }
          try {
            idle = workArrived.awaitNanos(idle);
          } catch (InterruptedException e) {
            // await() interrupts while work is pending: the collective below sees the flag again.
            Thread.currentThread().interrupt();
            break;
          }
        }
        b = completed < submitted ? completed : -1;
        last = b < 0 && lastRound != null && !lastRoundDone ? lastRound : null;
      } finally {
        lock.unlock();
      }
      if (b < 0 && last == null) {
        Thread.interrupted(); // an interrupt that came after the work was done: nothing to abort
        continue;
      }
      try {
        if (b >= 0) {
          world.allReduceSumRange(gradients, from[b], to[b]);
        } else {
          world.allReduceSum(last);
        }
      } catch (RuntimeException | Error e) {
        lock.lock();
        try {
          failure = e;
          thread = null;
          workDone.signalAll();
        } finally {
          lock.unlock();
        }
        return;
      }
      lock.lock();
      try {
        if (b >= 0) {
          completed++;
        } else {
          lastRoundDone = true;
          workDone.signalAll();
        }
      } finally {
        lock.unlock();
      }
    }
  }
}
