package io.synctower.coordinator.cluster;

import io.aeron.Aeron;
import io.synctower.common.checkpoint.ImportOptions;
import io.synctower.common.checkpoint.WeightLayout;
import io.synctower.common.checkpoint.WeightsFile;
import io.synctower.common.config.ConfigLoader;
import io.synctower.common.config.RunConfig;
import io.synctower.common.data.Shards;
import io.synctower.common.nn.Model;
import io.synctower.common.protocol.Command;
import io.synctower.common.protocol.Join;
import io.synctower.common.protocol.Message;
import io.synctower.common.protocol.Rejection;
import io.synctower.common.protocol.Report;
import io.synctower.coordinator.towers.RoundCollector;
import io.synctower.coordinator.towers.TowerFailedException;
import io.synctower.coordinator.towers.Towers;
import io.synctower.worker.remote.ControlSender;
import io.synctower.worker.remote.TransportException;
import io.synctower.worker.transport.TransportKind;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Towers that are worker processes, on this host or others, driven over Aeron.
 *
 * <pre>{@code
 * RemoteTowers towers = RemoteTowers.join(aeron, runId, config, options);
 * towers.send(new Command.TrainStep(...));   // as with in-process towers
 * List<Report> round = towers.collect();
 * }</pre>
 *
 * <p>Three parts, one job each: the {@link JoinHandshake} decides who holds each rank (one join per
 * rank, proven with the run's secret); {@link Heartbeats} is the I/O thread that polls the {@link
 * ControlInbox}, sends heartbeats and notices silent towers; this class sends commands and collects
 * rounds through the {@link RoundCollector}, which owns the stall deadline, the grace period and
 * the replica-hash check. A wrong proof, a second claim, a wrong world size, another run's or a
 * replayed message are rejected and counted ({@link #rejections()}), never applied; the first
 * rejection is printed when it happens and the counts when the towers close.
 *
 * <p>Liveness: a tower silent for {@code heartbeatTimeout}, whose connection closes (Aeron image
 * unavailable), or whose process exits ({@link #lost}) is lost: every other tower's step is aborted
 * ({@link Command.Abort}) and {@link #collect} throws {@link TowerFailedException} naming the
 * tower.
 *
 * <p>Threads: {@link #send}, {@link #collect} from the training thread; the I/O thread polls the
 * inbox; sends from both go through one thread-safe {@link ControlSender}.
 */
public final class RemoteTowers implements Towers {
  /**
   * @param bindEndpoint where the coordinator listens, {@code host:port} (UDP; ignored for IPC)
   */
  public record Options(
      TransportKind transport,
      String bindEndpoint,
      int towers,
      byte[] secret,
      Duration joinTimeout,
      Duration heartbeatInterval,
      Duration heartbeatTimeout,
      PrintStream out) {
    public Options {
      Objects.requireNonNull(transport, "transport");
      Objects.requireNonNull(secret, "secret");
      Objects.requireNonNull(out, "out");
    }
  }

  private final long runId;
  private final Options options;
  private final int[] shardSizes;
  private final ControlSender sender;
  private final RejectionLog rejections;
  private final JoinHandshake handshake;
  private final ControlInbox inbox;
  private final Heartbeats heartbeats;
  private final RoundCollector rounds;
  private final BlockingQueue<Report> reports = new LinkedBlockingQueue<>();
  private volatile TowerFailedException lost;
  private volatile int lostRank = -1;
  private volatile boolean closing;
  private List<JoinedTower> joined = List.of();

  private RemoteTowers(
      final Aeron aeron, final long runId, final RunConfig config, final Options options) {
    final int globalBatch = config.training().batchSize();
    this.runId = runId;
    this.options = options;
    final int n = options.towers();
    this.shardSizes = new int[n];
    for (int r = 0; r < n; r++) {
      shardSizes[r] = Shards.size(globalBatch, n, r);
    }
    this.sender = new ControlSender(options.secret(), options.heartbeatTimeout().toNanos());
    this.rejections = new RejectionLog(runId, n, options.out());
    this.handshake = new JoinHandshake(aeron, runId, options, sender, rejections);
    this.inbox =
        new ControlInbox(
            aeron,
            options.transport(),
            options.bindEndpoint(),
            options.secret(),
            rejections,
            new Inbound());
    this.heartbeats =
        new Heartbeats(
            runId,
            n,
            inbox,
            sender,
            options.heartbeatInterval(),
            options.heartbeatTimeout(),
            new Liveness());
    // The step deadline is the run's own setting, from the config every tower receives. A tower
    // that was aborted or saw another fail reports within a heartbeat timeout, or it is lost.
    this.rounds =
        new RoundCollector(
            n, config.failure().stepDeadline(), options.heartbeatTimeout(), new Processes());
  }

  /**
   * Waits until every tower has joined (printing who is still missing), welcomes them, and starts
   * the I/O thread.
   *
   * @throws TowerFailedException naming the ranks that did not join within the join timeout
   */
  public static RemoteTowers join(
      final Aeron aeron, final long runId, final RunConfig config, final Options options)
      throws InterruptedException {
    final RemoteTowers towers = new RemoteTowers(aeron, runId, config, options);
    try {
      towers.joined = towers.handshake.await(towers.inbox, options.joinTimeout());
      // The workers build their replicas from this text: the config's one YAML form on the wire.
      towers.handshake.welcome(ConfigLoader.toYaml(config));
      towers.heartbeats.start(towers.joined);
    } catch (RuntimeException | InterruptedException e) {
      towers.closeChannels();
      throw e;
    }
    return towers;
  }

  /** What the inbox hands on: joins to the handshake, the rest from the rank's holder only. */
  private final class Inbound implements ControlInbox.Listener {
    @Override
    public void onJoin(final Join message, final int session) {
      handshake.onJoin(message, session);
    }

    @Override
    public void onMessage(final int rank, final int session, final Message m) {
      final JoinedTower holder = handshake.holder(rank);
      if (holder == null || holder.session() != session) {
        rejections.reject(
            Rejection.UNKNOWN_SENDER,
            m.getClass().getSimpleName() + " as tower " + rank + " from another connection");
        return;
      }
      heartbeats.heard(rank);
      if (m instanceof Report r) {
        if (r instanceof Report.Failed f && !f.consequence()) {
          abortOthers(rank, "failed: " + f.message());
        }
        reports.add(r);
      }
    }

    @Override
    public void onConnectionClosed(final int session) {
      for (int rank = 0; rank < options.towers(); rank++) {
        final JoinedTower j = handshake.holder(rank);
        if (j != null && j.session() == session) {
          lost(rank, "its connection closed (the worker process exited or was killed)");
        }
      }
    }
  }

  /** What the I/O thread reports: a silent tower, or a control channel that failed. */
  private final class Liveness implements Heartbeats.Loss {
    @Override
    public void lost(final int rank, final String reason) {
      RemoteTowers.this.lost(rank, reason);
    }

    @Override
    public void lostContact(final TransportException e) {
      if (lost == null) {
        lost =
            new TowerFailedException(
                "lost contact with the towers: " + e.getMessage(), Report.Cause.LOST, -1);
      }
    }
  }

  /**
   * Declares tower {@code rank} lost: every other tower's collectives are aborted and the next (or
   * current) {@link #collect} throws naming it. Idempotent; the first loss wins.
   */
  public synchronized void lost(final int rank, final String reason) {
    if (lost != null || closing) {
      return;
    }
    final JoinedTower holder = handshake.holder(rank);
    final String name = holder != null ? holder.name() : "tower " + rank;
    lostRank = rank;
    lost =
        new TowerFailedException(
            name + " lost at step " + Math.max(rounds.step(), 0) + ": " + reason,
            Report.Cause.LOST,
            rank);
    abortOthers(rank, reason);
  }

  private void abortOthers(final int culprit, final String reason) {
    for (int rank = 0; rank < options.towers(); rank++) {
      final JoinedTower j = handshake.holder(rank);
      if (j != null && rank != culprit) {
        try {
          sender.send(
              j.publication(), new Command.Abort(runId, rounds.step(), culprit, reason), j.name());
        } catch (TransportException e) {
          // That tower is unreachable too; the error already names the first loss.
        }
      }
    }
  }

  /** The run id every message of this run carries. */
  public long runId() {
    return runId;
  }

  /** Messages rejected so far, by reason. */
  public String rejections() {
    return rejections.summary();
  }

  /** The last sequence number accepted from tower {@code rank} (tests forge replays below it). */
  long lastSequence(final int rank) {
    return rejections.lastSequence(rank);
  }

  /** How many messages were rejected for {@code reason}. */
  public long rejected(final Rejection reason) {
    return rejections.count(reason);
  }

  @Override
  public int count() {
    return options.towers();
  }

  @Override
  public int[] shardSizes() {
    return shardSizes.clone();
  }

  @Override
  public String describe() {
    return "worker processes over Aeron " + options.transport().name();
  }

  @Override
  public String placement(final int rank) {
    final Join.Request q = joined.get(rank).request();
    return String.format(Locale.ROOT, "%s pid %d device %d", q.host(), q.pid(), q.device());
  }

  @Override
  public void send(final Command command) {
    throwIfLost();
    rounds.sent(command);
    for (final JoinedTower j : joined) {
      sender.send(j.publication(), command, j.name());
    }
  }

  @Override
  public List<Report> collect() throws InterruptedException {
    return rounds.collect();
  }

  /** The reports the I/O thread received, as the round collector reads them. */
  private final class Processes implements RoundCollector.Transport {
    /** Waits in slices of this length, to notice a lost tower between them. */
    private static final long SLICE_NANOS = 20_000_000L;

    @Override
    public Report poll(final long timeoutNanos) throws InterruptedException {
      final long end = System.nanoTime() + Math.min(timeoutNanos, Long.MAX_VALUE / 2);
      while (true) {
        throwIfLost();
        final long left = end - System.nanoTime();
        final Report r =
            reports.poll(Math.min(SLICE_NANOS, Math.max(0, left)), TimeUnit.NANOSECONDS);
        if (r != null || left <= 0) {
          return r;
        }
      }
    }

    /** Heartbeats still arrive but the step makes no progress: stops the towers in collectives. */
    @Override
    public void abortStep(final String reason) {
      abortOthers(-1, reason);
    }

    @Override
    public void stopSilent(final List<Integer> ranks) {
      // Their processes are told to shut down when the towers close.
    }

    @Override
    public String describe(final RoundCollector.Stall stall) {
      return "tower(s) "
          + stall.towers()
          + " stalled at step "
          + stall.step()
          + ": no progress for 3 typical steps + failure.stepDeadline while their heartbeats"
          + " still arrive"
          + (stall.reportedLate()
              ? " (it reported after that: a step this slow needs a larger failure.stepDeadline)"
              : "");
    }
  }

  private void throwIfLost() {
    final TowerFailedException e = lost;
    if (e != null) {
      throw new TowerFailedException(e.getMessage(), e.failure(), e.rank());
    }
  }

  @Override
  public void copyWeightsTo(final Model model, final Path scratchDir) throws InterruptedException {
    final Path file = scratchDir.toAbsolutePath().resolve("tower0-weights.npz");
    send(new Command.ExportWeights(runId, Math.max(rounds.step(), 0), file.toString()));
    collect();
    WeightsFile.load(model, file, WeightLayout.PYTORCH, new ImportOptions(true, Set.of()));
    try {
      Files.deleteIfExists(file);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Refused: a worker process takes its weights from its own initialization or a checkpoint. */
  @Override
  public void loadWeightsFrom(final Model model) {
    throw new UnsupportedOperationException(
        "worker processes take their weights only from the run seed or a checkpoint");
  }

  /** Refused: the replica lives in a worker process. */
  @Override
  public Model model(final int rank) {
    throw new IllegalStateException("tower " + rank + " runs in another process");
  }

  /**
   * Tells every tower still reachable to shut down (a lost one is skipped: it cannot hear it),
   * stops the I/O thread and closes the channels.
   */
  @Override
  public void close() throws InterruptedException {
    closing = true;
    if (heartbeats.started()) {
      for (final JoinedTower j : joined) {
        if (j.rank() == lostRank) {
          continue;
        }
        try {
          sender.send(j.publication(), new Command.Shutdown(runId), j.name());
        } catch (TransportException e) {
          // It exits on its own when the coordinator's heartbeats stop.
        }
      }
    }
    heartbeats.close();
    closeChannels();
    options.out().println("coordinator: stopped; " + rejections());
  }

  private void closeChannels() {
    handshake.close();
    inbox.close();
  }
}
