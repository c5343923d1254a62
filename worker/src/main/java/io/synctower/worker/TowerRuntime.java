package io.synctower.worker;

import io.synctower.common.checkpoint.CheckpointException;
import io.synctower.common.checkpoint.CheckpointStore;
import io.synctower.common.checkpoint.StoredCheckpoint;
import io.synctower.common.checkpoint.TrainingSnapshot;
import io.synctower.common.checkpoint.WeightLayout;
import io.synctower.common.checkpoint.WeightsFile;
import io.synctower.common.comm.CollectiveAbortedException;
import io.synctower.common.config.RunConfig;
import io.synctower.common.data.Augmentation;
import io.synctower.common.data.AugmentedEpoch;
import io.synctower.common.data.Batch;
import io.synctower.common.data.BatchPlan;
import io.synctower.common.data.DataException;
import io.synctower.common.data.Dataset;
import io.synctower.common.data.EpochPermutation;
import io.synctower.common.data.Normalization;
import io.synctower.common.data.PreciseBnBatches;
import io.synctower.common.data.Prefetcher;
import io.synctower.common.data.Shards;
import io.synctower.common.metrics.MetricSums;
import io.synctower.common.metrics.PhaseTimes;
import io.synctower.common.nn.StepContext;
import io.synctower.common.protocol.Command;
import io.synctower.common.protocol.Report;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.BlockingQueue;
import java.util.function.Consumer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * A tower's loop: takes {@link Command}s, runs them on its replica, answers with {@link Report}s.
 * Runs on the tower's own thread, bound to its device; the coordinator never touches the replica.
 *
 * <pre>{@code
 * Thread t = new Thread(new TowerRuntime(setup, tower, inbox, reports::add, group::abort));
 * inbox.put(new Command.TrainStep(run, 1, 0, 0, 0.01, false));   // -> Report.StepDone
 * }</pre>
 *
 * <p>Data: for each epoch the tower computes the seeded permutation, takes its shard of every
 * global batch ({@link Shards}) and prefetches it in the background, augmented when the run
 * augments ({@link AugmentedEpoch}: draws keyed by seed, epoch and dataset index, so every tower
 * count and a resume see the same batches); the coordinator sends positions only. Evaluation takes
 * a contiguous slice of the dataset per tower and issues no collectives.
 *
 * <p>Failure: any exception is reported as {@link Report.Failed} and the tower's collectives are
 * aborted first, so no other tower waits for it; then the loop ends.
 */
public final class TowerRuntime implements Runnable {
  /**
   * What a tower needs besides its replica.
   *
   * @param context the training step context (BN mode, SyncBN reducer, seed); positions are filled
   *     in per step
   * @param device the ND4J device to bind the tower's thread to
   * @param augmentation crop and flip of training and precise-BN batches, or null for none
   */
  public record Setup(
      long runId,
      int rank,
      int towers,
      int device,
      long seed,
      int globalBatch,
      int evalBatch,
      Dataset train,
      Dataset validation,
      Normalization normalization,
      Augmentation augmentation,
      DataType dtype,
      int prefetch,
      StepContext context,
      boolean stopOnNonFinite,
      RunConfig config) {}

  private final Setup setup;
  private final Tower tower;
  private final BlockingQueue<Command> inbox;
  private final Consumer<Report> reports;
  private final Runnable abortCollectives;
  private final int shardOffset;
  private final int shardSize;

  private final CheckpointWriter checkpoints;
  private Prefetcher prefetcher;
  private int prefetchedEpoch = -1;

  public TowerRuntime(
      final Setup setup,
      final Tower tower,
      final BlockingQueue<Command> inbox,
      final Consumer<Report> reports,
      final Runnable abortCollectives) {
    this.setup = Objects.requireNonNull(setup, "setup");
    this.tower = Objects.requireNonNull(tower, "tower");
    this.inbox = Objects.requireNonNull(inbox, "inbox");
    this.reports = Objects.requireNonNull(reports, "reports");
    this.abortCollectives = Objects.requireNonNull(abortCollectives, "abortCollectives");
    this.shardOffset = Shards.offset(setup.globalBatch(), setup.towers(), setup.rank());
    this.shardSize = Shards.size(setup.globalBatch(), setup.towers(), setup.rank());
    this.checkpoints = new CheckpointWriter(tower.model(), tower.optimizer(), setup.config());
  }

  public int shardSize() {
    return shardSize;
  }

  @Override
  public void run() {
    if (Nd4j.getAffinityManager().getNumberOfDevices() > 1) {
      Nd4j.getAffinityManager().unsafeSetDevice(setup.device());
    }
    long step = -1;
    try {
      while (true) {
        final Command command = inbox.take();
        if (command.runId() != setup.runId()) {
          continue; // another run's message: never applied
        }
        if (command instanceof Command.TrainStep s) {
          step = s.step();
          reports.accept(train(s));
        } else if (command instanceof Command.Evaluate e) {
          reports.accept(evaluate(e.dataset()));
        } else if (command instanceof Command.ExportWeights c) {
          reports.accept(exportWeights(c));
        } else if (command instanceof Command.Checkpoint c) {
          reports.accept(checkpoint(c));
        } else if (command instanceof Command.Restore r) {
          reports.accept(restore(r));
        } else if (command instanceof Command.RunPreciseBn r) {
          reports.accept(recalibrate(r));
        } else if (command instanceof Command.Shutdown) {
          checkpoints.awaitWritten();
          return;
        }
        // Command.Abort is the transport's business: it aborts this tower's collectives directly,
        // because a tower blocked in a collective never reads its inbox.
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (Throwable t) {
      abortCollectives.run();
      finishCheckpointInFlight();
      final Report.Cause cause = causeOf(t);
      final String message =
          switch (cause) {
            case ABORTED ->
                t instanceof NonFiniteStepException
                    ? t.getMessage()
                    : "stopped: another tower failed";
            case NON_FINITE, CHECKPOINT -> t.getMessage();
            default -> t.getClass().getSimpleName() + ": " + t.getMessage();
          };
      reports.accept(new Report.Failed(setup.runId(), setup.rank(), step, message, cause));
    } finally {
      closePrefetcher();
      checkpoints.close();
    }
  }

  /**
   * A checkpoint whose snapshot was taken before the failure is still a good checkpoint: let it
   * commit before reporting, so a resume or an elastic restart starts from it.
   */
  private void finishCheckpointInFlight() {
    try {
      checkpoints.awaitWritten();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException e) {
      // It failed too; the failure being reported is the one that matters.
    }
  }

  /** Why the loop ended, as the coordinator classifies failures (elastic restarts retry some). */
  private static Report.Cause causeOf(final Throwable t) {
    if (t instanceof CollectiveAbortedException) {
      return Report.Cause.ABORTED;
    }
    if (t instanceof NonFiniteStepException n) {
      return n.elsewhere() ? Report.Cause.ABORTED : Report.Cause.NON_FINITE;
    }
    if (t instanceof CheckpointException) {
      return Report.Cause.CHECKPOINT;
    }
    // The prefetcher wraps whatever loading threw; only bad or unreadable data is DATA, anything
    // else (a bug, a device error) crashed the tower.
    if (t instanceof DataException
        && (t.getCause() == null
            || t.getCause() instanceof DataException
            || t.getCause() instanceof java.io.IOException
            || t.getCause() instanceof java.io.UncheckedIOException)) {
      return Report.Cause.DATA;
    }
    return Report.Cause.CRASHED;
  }

  private Report.StepDone train(final Command.TrainStep s) throws InterruptedException {
    checkpoints.checkHealthy(); // a background write that failed ends the run here
    final long t0 = System.nanoTime();
    INDArray x = null;
    int[] labels = null;
    Batch batch = null;
    if (shardSize > 0) {
      batch = nextBatch(s.epoch(), s.batchInEpoch());
      x = rows(batch);
      labels = batch.labels();
    }
    final long waited = System.nanoTime() - t0;
    final StepContext ctx = setup.context().at(s.step(), shardOffset, setup.globalBatch());
    final StepResult r = tower.trainStep(x, labels, ctx, s.learningRate());
    if (batch != null) {
      batch.release();
    }
    if (r.skipped() && setup.stopOnNonFinite()) {
      // Every tower saw the same flag in the same all-reduce, so every tower stops here: the one
      // whose values went bad says where, the others that they stopped with it.
      final boolean here = r.culprit() == setup.rank();
      throw new NonFiniteStepException(
          here
              ? "NaN/Inf at step "
                  + s.step()
                  + " on tower "
                  + setup.rank()
                  + ", first in "
                  + r.nonFinite()
                  + ". Nothing of the step was applied. Lower the learning rate, check the data,"
                  + " or set failure.onNonFinite: skip to skip such steps"
              : "stopped at step "
                  + s.step()
                  + ": tower "
                  + r.culprit()
                  + "'s values were NaN/Inf (failure.onNonFinite: stop)",
          !here);
    }
    final PhaseTimes times = r.times().withDataWait(waited);
    return new Report.StepDone(
        setup.runId(),
        setup.rank(),
        s.step(),
        r.metrics(),
        times,
        s.reportHash() ? ReplicaHash.of(tower.model(), tower.optimizer().state()) : 0L,
        r.skipped(),
        r.nonFinite());
  }

  private Batch nextBatch(final int epoch, final int batchInEpoch) throws InterruptedException {
    if (epoch != prefetchedEpoch || prefetcher == null) {
      closePrefetcher();
      final int[] order = EpochPermutation.of(setup.seed(), epoch, setup.train().size());
      final BatchPlan plan =
          BatchPlan.shard(order, setup.globalBatch(), shardOffset, shardSize, true);
      prefetcher =
          Prefetcher.start(
              setup.train(),
              setup.normalization(),
              setup.augmentation() == null ? null : setup.augmentation().epoch(setup.seed(), epoch),
              plan,
              setup.dtype(),
              setup.prefetch(),
              batchInEpoch); // 0, or where a resumed run picks up the epoch
      prefetchedEpoch = epoch;
    }
    if (!prefetcher.hasNext()) {
      throw new IllegalStateException(
          "epoch " + epoch + " has no batch " + batchInEpoch + " for tower " + setup.rank());
    }
    final Batch b = prefetcher.next();
    if (b.index() != batchInEpoch) {
      throw new IllegalStateException(
          "tower "
              + setup.rank()
              + " is at batch "
              + b.index()
              + " of epoch "
              + epoch
              + " but the coordinator planned batch "
              + batchInEpoch);
    }
    return b;
  }

  private Report.EvaluationDone evaluate(final Command.DatasetRole role)
      throws InterruptedException {
    final Dataset dataset = role == Command.DatasetRole.TRAIN ? setup.train() : setup.validation();
    MetricSums sums = MetricSums.ZERO;
    final int from = Shards.offset(dataset.size(), setup.towers(), setup.rank());
    final int count = Shards.size(dataset.size(), setup.towers(), setup.rank());
    if (count > 0) {
      final int[] slice = new int[count];
      for (int i = 0; i < count; i++) {
        slice[i] = from + i;
      }
      final BatchPlan plan = BatchPlan.of(slice, setup.evalBatch(), false);
      try (Prefetcher p =
          Prefetcher.start(dataset, setup.normalization(), plan, setup.dtype(), setup.prefetch())) {
        while (p.hasNext()) {
          final Batch b = p.next();
          final MetricSums r = tower.evaluate(rows(b), b.labels());
          b.release();
          sums = sums.plus(r);
        }
      }
    }
    return new Report.EvaluationDone(setup.runId(), setup.rank(), sums);
  }

  /** Tower 0 writes its replica's weights (all replicas are identical); the others only answer. */
  private Report.CheckpointDone exportWeights(final Command.ExportWeights c) {
    if (setup.rank() != 0) {
      return new Report.CheckpointDone(setup.runId(), setup.rank(), c.step(), "");
    }
    WeightsFile.save(tower.model(), Path.of(c.path()), WeightLayout.PYTORCH);
    return new Report.CheckpointDone(setup.runId(), setup.rank(), c.step(), c.path());
  }

  /**
   * Tower 0 snapshots its replica and commits it as a checkpoint in the background (replicas are
   * identical: the coordinator verified their hashes on this step); the others only answer. The
   * answer comes after the snapshot, or after the commit when the coordinator waits for it.
   */
  private Report.CheckpointDone checkpoint(final Command.Checkpoint c) throws InterruptedException {
    if (setup.rank() != 0) {
      return new Report.CheckpointDone(setup.runId(), setup.rank(), c.step(), "");
    }
    checkpoints.begin(c.step(), Path.of(c.directory()), c.keep(), c.trainerState());
    if (c.awaitWrite()) {
      final Path written = checkpoints.awaitWritten();
      return new Report.CheckpointDone(setup.runId(), setup.rank(), c.step(), written.toString());
    }
    return new Report.CheckpointDone(setup.runId(), setup.rank(), c.step(), c.directory());
  }

  /**
   * Every tower loads the checkpoint into its replica and optimizer (each verifies the files
   * itself: a tower on another host reads its own copy of a shared file system); training then
   * continues from the position the coordinator sends.
   */
  private Report.CheckpointDone restore(final Command.Restore r) throws InterruptedException {
    checkpoints.awaitWritten();
    final StoredCheckpoint checkpoint = CheckpointStore.load(Path.of(r.path()));
    TrainingSnapshot.restore(checkpoint, tower.model(), tower.optimizer());
    closePrefetcher(); // the next step may be anywhere in any epoch
    return new Report.CheckpointDone(setup.runId(), setup.rank(), checkpoint.step(), r.path());
  }

  /**
   * Precise BN: forwards this tower's shard of {@code c.batches()} global batches of the training
   * set ({@link PreciseBnBatches}) in training mode with the run's step context, then every tower
   * replaces its moving statistics with the population's of all towers ({@link PreciseBnTower}).
   * With augmentation the batches are augmented as in training (fvcore's and detectron2's precise
   * BN forward the training loader), with each pass's own draws. Dropout masks use steps -1, -2,
   * ..., which no training step has.
   */
  private Report.PreciseBnDone recalibrate(final Command.RunPreciseBn c)
      throws InterruptedException {
    checkpoints.checkHealthy();
    final PreciseBnBatches batches =
        new PreciseBnBatches(setup.seed(), c.round(), setup.train().size(), setup.globalBatch());
    final PreciseBnTower recalibrator = tower.preciseBn();
    long forwards = 0;
    for (int pass = 0; pass < batches.passes(c.batches()); pass++) {
      final int count = batches.batchesIn(pass, c.batches());
      if (shardSize == 0) {
        for (int b = 0; b < count; b++) {
          recalibrator.forward(null, recalibrationContext(forwards++));
        }
        continue;
      }
      final BatchPlan plan =
          BatchPlan.shard(batches.order(pass), setup.globalBatch(), shardOffset, shardSize, true);
      final AugmentedEpoch augmented =
          setup.augmentation() == null ? null : batches.augmentation(setup.augmentation(), pass);
      try (Prefetcher p =
          Prefetcher.start(
              setup.train(),
              setup.normalization(),
              augmented,
              plan,
              setup.dtype(),
              setup.prefetch(),
              0)) {
        for (int b = 0; b < count; b++) {
          final Batch batch = p.next();
          recalibrator.forward(rows(batch), recalibrationContext(forwards++));
          batch.release();
        }
      }
    }
    final List<Report.Movement> moved = recalibrator.finish();
    return new Report.PreciseBnDone(
        setup.runId(),
        setup.rank(),
        c.batches(),
        recalibrator.samples(),
        ReplicaHash.of(tower.model(), tower.optimizer().state()),
        moved);
  }

  private StepContext recalibrationContext(final long forward) {
    return setup.context().at(-1 - forward, shardOffset, setup.globalBatch());
  }

  /** The filled rows of a batch buffer: a view, no copy. */
  private static INDArray rows(final Batch b) {
    return b.count() == b.x().size(0) ? b.x() : b.x().get(NDArrayIndex.interval(0, b.count()));
  }

  private void closePrefetcher() {
    if (prefetcher != null) {
      prefetcher.close();
      prefetcher = null;
    }
  }
}
