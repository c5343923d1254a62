package io.synctower.common.data;

import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Assembles the next batches of a {@link BatchPlan} on a background daemon thread while the caller
 * trains on the current one, into {@code k >= 2} buffers allocated once.
 *
 * <pre>{@code
 * try (Prefetcher prefetcher = Prefetcher.start(dataset, norm, plan, DataType.FLOAT, 2)) {
 *   while (prefetcher.hasNext()) {
 *     Batch batch = prefetcher.next();   // blocks until assembled; rethrows loader failures
 *     step(batch.x(), batch.labels(), batch.count());
 *     batch.release();                   // the buffer may now be refilled
 *   }
 * }
 * }</pre>
 *
 * <p>Threads: one worker thread per prefetcher, started by {@link #start} and stopped by {@link
 * #close()} (interrupt, then join: it never outlives {@code close}). {@code next}, {@link
 * Batch#release()} and {@code close} belong to one caller thread. The worker takes a free buffer,
 * fills it with a {@link BatchAssembler}, and queues it; {@code next} hands it out and {@code
 * release} returns it. A failure in the worker (any {@link Throwable}, e.g. a {@link DataException}
 * from the dataset) ends prefetching; the batches assembled before it are still delivered, then
 * {@code next} throws a {@link DataException} whose cause is the failure, and keeps throwing it.
 *
 * <p>Memory: the prefetcher owns its k [rows, H, W, C] arrays and label arrays and closes the
 * arrays in {@code close()}; a {@link Batch} is a view of one of them, valid until released and
 * never after {@code close()}. Nothing is allocated per batch.
 */
public final class Prefetcher implements AutoCloseable {
  private final Dataset dataset;
  private final BatchPlan plan;
  private final BatchAssembler assembler;
  private final Batch[] buffers;
  private final BlockingQueue<Batch> free;
  private final BlockingQueue<Batch> ready;
  private final Batch failedMarker;
  private final Thread worker;

  private volatile boolean closed;
  private volatile Throwable failure;

  private int nextBatch;
  private int firstBatch; // set before the worker thread starts
  private int outstanding;
  private DataException delivered;

  private Prefetcher(
      final Dataset dataset,
      final Normalization normalization,
      final AugmentedEpoch augmentation,
      final BatchPlan plan,
      final DataType dtype,
      final int bufferCount) {
    this.dataset = Objects.requireNonNull(dataset, "dataset");
    this.plan = Objects.requireNonNull(plan, "plan");
    Objects.requireNonNull(dtype, "dtype");
    if (bufferCount < 2) {
      throw new IllegalArgumentException(
          "prefetcher needs >= 2 buffers (one trained on, one filled), got " + bufferCount);
    }
    for (final int index : plan.order()) {
      if (index < 0 || index >= dataset.size()) {
        throw new IndexOutOfBoundsException(
            "plan order holds index "
                + index
                + " outside 0.."
                + (dataset.size() - 1)
                + " of "
                + dataset.describe());
      }
    }
    this.assembler = new BatchAssembler(dataset, normalization, augmentation);
    final int rows = Math.max(1, plan.maxBatchSize());
    this.buffers = new Batch[bufferCount];
    this.free = new ArrayBlockingQueue<>(bufferCount);
    this.ready = new ArrayBlockingQueue<>(bufferCount + 1);
    for (int i = 0; i < bufferCount; i++) {
      buffers[i] =
          new Batch(
              this, assembler.allocate(dtype, rows), new int[rows * dataset.labelPositions()]);
      free.add(buffers[i]);
    }
    this.failedMarker = new Batch(this, null, null);
    this.worker = new Thread(this::run, "synctower-prefetch");
    worker.setDaemon(true);
  }

  /**
   * Allocates {@code buffers} batch buffers of {@code plan.maxBatchSize()} rows and starts the
   * worker thread, which begins assembling batch 0 at once.
   *
   * @param normalization applied to every sample, or null
   * @param dtype FLOAT or DOUBLE
   * @throws IllegalArgumentException if buffers < 2, dtype is not FLOAT/DOUBLE, or the
   *     normalization does not fit the dataset
   * @throws IndexOutOfBoundsException if the plan holds an index outside the dataset
   */
  public static Prefetcher start(
      final Dataset dataset,
      final Normalization normalization,
      final BatchPlan plan,
      final DataType dtype,
      final int buffers) {
    return start(dataset, normalization, plan, dtype, buffers, 0);
  }

  /**
   * Like {@link #start(Dataset, Normalization, BatchPlan, DataType, int)}, from batch {@code
   * firstBatch} of the plan on: a run resumed in the middle of an epoch reads no sample twice.
   */
  public static Prefetcher start(
      final Dataset dataset,
      final Normalization normalization,
      final BatchPlan plan,
      final DataType dtype,
      final int buffers,
      final int firstBatch) {
    return start(dataset, normalization, null, plan, dtype, buffers, firstBatch);
  }

  /**
   * Like {@link #start(Dataset, Normalization, BatchPlan, DataType, int, int)}, augmenting every
   * sample with the epoch's draws before normalizing it (training batches; null for none).
   *
   * @throws IllegalArgumentException also if the crop padding does not fit the samples
   */
  public static Prefetcher start(
      final Dataset dataset,
      final Normalization normalization,
      final AugmentedEpoch augmentation,
      final BatchPlan plan,
      final DataType dtype,
      final int buffers,
      final int firstBatch) {
    if (firstBatch < 0 || firstBatch > plan.batchCount()) {
      throw new IndexOutOfBoundsException(
          "first batch " + firstBatch + " outside 0.." + plan.batchCount() + " of the plan");
    }
    final Prefetcher p = new Prefetcher(dataset, normalization, augmentation, plan, dtype, buffers);
    p.nextBatch = firstBatch;
    p.firstBatch = firstBatch;
    p.worker.start();
    return p;
  }

  private void run() {
    try {
      for (int b = firstBatch; b < plan.batchCount(); b++) {
        final Batch batch = free.take();
        final int count =
            assembler.fill(
                plan.order(),
                plan.from(b),
                plan.count(b),
                batch.x(),
                batch.labels(),
                () -> closed || Thread.currentThread().isInterrupted());
        if (count < 0) {
          return; // closing
        }
        batch.count = count;
        batch.index = b;
        ready.put(batch);
      }
    } catch (final InterruptedException e) {
      Thread.currentThread().interrupt(); // close() asked us to stop; the thread ends here
    } catch (final Throwable t) {
      failure = t;
      ready.offer(failedMarker); // capacity k + 1 > batches in flight: never full
    }
  }

  /** True while batches of the plan remain to be handed out and no failure was delivered. */
  public boolean hasNext() {
    return nextBatch < plan.batchCount() && delivered == null;
  }

  /**
   * Blocks until the next batch is assembled and returns it (a view of a buffer, held until {@link
   * Batch#release()}).
   *
   * @throws InterruptedException if the calling thread is interrupted while waiting (the flag is
   *     cleared as usual; the prefetcher stays usable)
   * @throws DataException with the worker's exception as cause, if assembling failed
   * @throws NoSuchElementException if all batches of the plan were handed out
   * @throws IllegalStateException if closed, or if all buffers are held (release one first)
   */
  public Batch next() throws InterruptedException {
    if (closed) {
      throw new IllegalStateException("prefetcher for " + dataset.describe() + " is closed");
    }
    if (delivered != null) {
      throw delivered;
    }
    if (nextBatch >= plan.batchCount()) {
      throw new NoSuchElementException(
          "all " + plan.batchCount() + " batches of the plan were handed out");
    }
    if (outstanding == buffers.length) {
      throw new IllegalStateException(
          "all " + buffers.length + " buffers are held; release() a batch before next()");
    }
    final Batch batch = ready.take();
    if (batch == failedMarker) {
      delivered =
          new DataException(
              "prefetching batch "
                  + nextBatch
                  + " of "
                  + dataset.describe()
                  + " failed: "
                  + failure,
              failure);
      throw delivered;
    }
    nextBatch++;
    outstanding++;
    batch.held = true;
    return batch;
  }

  void release(final Batch batch) {
    if (!batch.held) {
      throw new IllegalStateException("batch " + batch.index + " was already released");
    }
    batch.held = false;
    outstanding--;
    if (!closed) {
      free.add(batch); // capacity k: never full
    }
  }

  /** The worker thread, for tests that check it ended. */
  Thread worker() {
    return worker;
  }

  /**
   * Stops the worker (interrupt, then join until it has ended) and frees the batch arrays.
   * Idempotent. If the caller is interrupted while joining, it keeps waiting, then restores the
   * interrupt flag.
   */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    worker.interrupt();
    boolean interrupted = false;
    while (true) {
      try {
        worker.join();
        break;
      } catch (final InterruptedException e) {
        interrupted = true;
      }
    }
    for (final Batch b : buffers) {
      final INDArray x = b.x();
      if (x.closeable()) {
        x.close();
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }
}
