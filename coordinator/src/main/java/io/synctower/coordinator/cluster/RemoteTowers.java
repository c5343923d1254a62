package io.synctower.coordinator.cluster;

import io.aeron.Aeron;
import io.aeron.FragmentAssembler;
import io.aeron.Image;
import io.aeron.Publication;
import io.aeron.Subscription;
import io.aeron.logbuffer.Header;
import io.synctower.common.checkpoint.ImportOptions;
import io.synctower.common.checkpoint.WeightLayout;
import io.synctower.common.checkpoint.WeightsFile;
import io.synctower.common.config.ConfigLoader;
import io.synctower.common.data.Shards;
import io.synctower.common.nn.Model;
import io.synctower.common.protocol.Command;
import io.synctower.common.protocol.ControlCodec;
import io.synctower.common.protocol.Decoded;
import io.synctower.common.protocol.Heartbeat;
import io.synctower.common.protocol.Join;
import io.synctower.common.protocol.JoinAuth;
import io.synctower.common.protocol.Message;
import io.synctower.common.protocol.MessageGate;
import io.synctower.common.protocol.Rejection;
import io.synctower.common.protocol.Report;
import io.synctower.coordinator.towers.Rounds;
import io.synctower.coordinator.towers.StallWatch;
import io.synctower.coordinator.towers.TowerFailedException;
import io.synctower.coordinator.towers.Towers;
import io.synctower.worker.remote.ControlChannels;
import io.synctower.worker.remote.ControlSender;
import io.synctower.worker.remote.TransportException;
import io.synctower.worker.transport.TransportKind;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.agrona.CloseHelper;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.IdleStrategy;

/**
 * Towers that are worker processes, on this host or others, driven over Aeron.
 *
 * <pre>{@code
 * RemoteTowers towers = RemoteTowers.join(aeron, runId, configYaml, globalBatch, options);
 * towers.send(new Command.TrainStep(...));   // as with in-process towers
 * List<Report> round = towers.collect();
 * }</pre>
 *
 * <p>Join: each worker sends a {@link Join.Request}; the coordinator answers with a fresh {@link
 * Join.Challenge}; the worker proves it holds the run's secret ({@link JoinAuth}); once every rank
 * has proven itself, each gets a {@link Join.Welcome} with the configuration and every tower's data
 * endpoint. A wrong proof, a second claim on a joined rank, a wrong world size, another run's or a
 * replayed message are rejected and counted ({@link #rejections()}), never applied.
 *
 * <p>Liveness: an I/O thread sends heartbeats to every tower and watches theirs; a tower silent for
 * {@code heartbeatTimeout}, whose connection closes (Aeron image unavailable), or whose process
 * exits ({@link #lost}) is lost: every other tower's step is aborted ({@link Command.Abort}) and
 * {@link #collect} throws {@link TowerFailedException} naming the tower.
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

  private record Joined(Join.Request request, Publication publication, int session) {
    String name() {
      return "tower " + request.rank() + " (" + request.host() + ", pid " + request.pid() + ")";
    }
  }

  private record Pending(Join.Request request, byte[] nonce, Publication publication) {}

  private final Aeron aeron;
  private final long runId;
  private final Options options;
  private final StallWatch stalls;
  private final String configYaml;
  private final int[] shardSizes;
  private final Subscription inbox;
  private final ControlSender sender;
  private final ControlCodec codec;
  private final FragmentAssembler assembler;
  private final MessageGate gate;
  private final Joined[] joined;
  private final Map<Integer, Pending> pending = new HashMap<>();
  private final Map<String, Publication> publications = new HashMap<>();
  private final SecureRandom random = new SecureRandom();
  private final BlockingQueue<Report> reports = new LinkedBlockingQueue<>();
  private final long[] lastBeat;
  private final AtomicLong currentStep = new AtomicLong(-1);
  private final IdleStrategy idle = ControlChannels.idleStrategy();
  private volatile TowerFailedException lost;
  private volatile int lostRank = -1;
  private volatile boolean running = true;
  private volatile boolean closing;
  private Thread io;
  private boolean joinPhase = true;

  private RemoteTowers(
      final Aeron aeron,
      final long runId,
      final String configYaml,
      final int globalBatch,
      final Options options) {
    this.aeron = aeron;
    this.runId = runId;
    this.options = options;
    // The step deadline is the run's own setting, from the config every tower receives.
    this.stalls =
        new StallWatch(
            ConfigLoader.parse(configYaml, "the run's config", java.util.Map.of())
                .failure()
                .stepDeadline());
    this.configYaml = configYaml;
    final int n = options.towers();
    this.shardSizes = new int[n];
    for (int r = 0; r < n; r++) {
      shardSizes[r] = Shards.size(globalBatch, n, r);
    }
    this.joined = new Joined[n];
    this.lastBeat = new long[n];
    this.sender = new ControlSender(options.secret(), options.heartbeatTimeout().toNanos());
    this.codec = new ControlCodec(options.secret());
    this.gate = new MessageGate(runId, n, false);
    this.assembler = new FragmentAssembler(this::onFragment);
    this.inbox =
        aeron.addSubscription(
            ControlChannels.toCoordinator(options.transport(), options.bindEndpoint()),
            ControlChannels.toCoordinatorStream(),
            image -> {},
            this::onUnavailable);
  }

  /**
   * Waits until every tower has joined (printing who is still missing), welcomes them, and starts
   * the I/O thread.
   *
   * @throws TowerFailedException naming the ranks that did not join within the join timeout
   */
  public static RemoteTowers join(
      final Aeron aeron,
      final long runId,
      final String configYaml,
      final int globalBatch,
      final Options options)
      throws InterruptedException {
    final RemoteTowers towers = new RemoteTowers(aeron, runId, configYaml, globalBatch, options);
    try {
      towers.awaitJoins();
    } catch (RuntimeException | InterruptedException e) {
      towers.closeChannels();
      throw e;
    }
    return towers;
  }

  private void awaitJoins() throws InterruptedException {
    final int n = options.towers();
    final long start = System.nanoTime();
    final long deadline = start + options.joinTimeout().toNanos();
    long nextStatus = start + TimeUnit.SECONDS.toNanos(5);
    options
        .out()
        .printf(
            Locale.ROOT,
            "coordinator: run %016x waiting for %d tower(s) on %s%n",
            runId,
            n,
            options.transport() == TransportKind.IPC
                ? "Aeron IPC (" + aeron.context().aeronDirectoryName() + ")"
                : "UDP " + options.bindEndpoint());
    while (joinedCount() < n) {
      final int work = inbox.poll(assembler, 16);
      final long now = System.nanoTime();
      if (now - deadline > 0) {
        throw new TowerFailedException(
            "tower(s) "
                + missing()
                + " did not join within "
                + options.joinTimeout().toSeconds()
                + " s. Check that each worker was started (its log), with the same secret, --towers "
                + n
                + ", and that it can reach this coordinator"
                + (options.transport() == TransportKind.UDP
                    ? " at " + options.bindEndpoint() + " (UDP; firewall?)"
                    : "")
                + ". "
                + rejections(),
            Report.Cause.LOST,
            -1);
      }
      if (now - nextStatus > 0) {
        options
            .out()
            .printf(
                Locale.ROOT,
                "coordinator: %d/%d towers joined, waiting for %s%n",
                joinedCount(),
                n,
                missing());
        nextStatus = now + TimeUnit.SECONDS.toNanos(5);
      }
      if (Thread.interrupted()) {
        throw new InterruptedException();
      }
      idle.idle(work);
    }
    final List<String> endpoints = new ArrayList<>();
    for (final Joined j : joined) {
      endpoints.add(j.request().dataEndpoint());
    }
    final long now = System.nanoTime();
    for (final Joined j : joined) {
      lastBeat[j.request().rank()] = now;
      sender.send(
          j.publication(),
          new Join.Welcome(runId, j.request().rank(), n, endpoints, configYaml),
          j.name());
    }
    joinPhase = false;
    io = new Thread(this::ioLoop, "coordinator-io");
    io.setDaemon(true);
    io.start();
  }

  private int joinedCount() {
    int c = 0;
    for (final Joined j : joined) {
      c += j == null ? 0 : 1;
    }
    return c;
  }

  private List<Integer> missing() {
    final List<Integer> m = new ArrayList<>();
    for (int r = 0; r < joined.length; r++) {
      if (joined[r] == null) {
        m.add(r);
      }
    }
    return m;
  }

  private void ioLoop() {
    final long beatEvery = options.heartbeatInterval().toNanos();
    final long timeout = options.heartbeatTimeout().toNanos();
    long nextBeat = System.nanoTime();
    while (running) {
      try {
        final int work = inbox.poll(assembler, 16);
        final long now = System.nanoTime();
        if (now - nextBeat >= 0) {
          for (final Joined j : joined) {
            sender.send(
                j.publication(),
                new Heartbeat(runId, Join.COORDINATOR, System.currentTimeMillis()),
                j.name());
          }
          nextBeat = now + beatEvery;
        }
        for (int r = 0; r < joined.length; r++) {
          if (now - lastBeat[r] > timeout) {
            lost(
                r,
                "no heartbeat for "
                    + TimeUnit.NANOSECONDS.toMillis(now - lastBeat[r])
                    + " ms (deadline "
                    + options.heartbeatTimeout().toMillis()
                    + " ms): the process hangs, was killed, or its host is unreachable");
          }
        }
        idle.idle(work);
      } catch (TransportException e) {
        if (lost == null) {
          lost =
              new TowerFailedException(
                  "lost contact with the towers: " + e.getMessage(), Report.Cause.LOST, -1);
        }
        idle.idle(0);
      }
    }
  }

  private void onUnavailable(final Image image) {
    for (final Joined j : joined) {
      if (j != null && j.session() == image.sessionId()) {
        lost(j.request().rank(), "its connection closed (the worker process exited or was killed)");
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
    final String name = joined[rank] != null ? joined[rank].name() : "tower " + rank;
    lostRank = rank;
    lost =
        new TowerFailedException(
            name + " lost at step " + Math.max(currentStep.get(), 0) + ": " + reason,
            Report.Cause.LOST,
            rank);
    abortOthers(rank, reason);
  }

  private void abortOthers(final int culprit, final String reason) {
    for (final Joined j : joined) {
      if (j != null && j.request().rank() != culprit) {
        try {
          sender.send(
              j.publication(),
              new Command.Abort(runId, currentStep.get(), culprit, reason),
              j.name());
        } catch (TransportException e) {
          // That tower is unreachable too; the error already names the first loss.
        }
      }
    }
  }

  private void onFragment(
      final DirectBuffer buffer, final int offset, final int length, final Header header) {
    final Decoded decoded = codec.decode(buffer, offset, length);
    if (!(decoded instanceof Decoded.Ok ok)) {
      gate.countDecodeFailure(((Decoded.Rejected) decoded).reason());
      return;
    }
    final Message m = ok.message();
    if (m instanceof Join j) {
      if (joinPhase) {
        onJoin(j, header.sessionId());
      } else {
        gate.countDecodeFailure(Rejection.IMPOSTOR);
      }
      return;
    }
    if (gate.check(ok) != null) {
      return; // counted by the gate
    }
    final int rank = ok.sender();
    if (joined[rank] == null || joined[rank].session() != header.sessionId()) {
      gate.countDecodeFailure(Rejection.UNKNOWN_SENDER);
      return;
    }
    lastBeat[rank] = System.nanoTime();
    if (m instanceof Report r) {
      if (r instanceof Report.Failed f && !f.consequence()) {
        abortOthers(rank, "failed: " + f.message());
      }
      reports.add(r);
    }
  }

  private void onJoin(final Join message, final int session) {
    final int n = options.towers();
    if (message instanceof Join.Request q) {
      if (q.rank() < 0 || q.rank() >= n || q.worldSize() != n) {
        gate.countDecodeFailure(Rejection.UNKNOWN_SENDER);
        options
            .out()
            .printf(
                Locale.ROOT,
                "coordinator: rejected a join as rank %d of %d from %s (pid %d): this run has %d"
                    + " towers; start workers with --towers/WORLD_SIZE %d%n",
                q.rank(),
                q.worldSize(),
                q.host(),
                q.pid(),
                n,
                n);
        return;
      }
      if (joined[q.rank()] != null) {
        return; // a repeated request of a joined worker, or a second claim: never applied
      }
      final Publication p = publicationTo(q);
      final byte[] nonce = JoinAuth.newNonce(random);
      pending.put(session, new Pending(q, nonce, p));
      if (p.isConnected()) {
        sender.send(p, new Join.Challenge(runId, q.rank(), nonce), "tower " + q.rank());
      }
    } else if (message instanceof Join.Proof proof) {
      // Kept on failure: over IPC every process listening as rank r sees every challenge to rank
      // r, so a genuine worker may also answer a challenge meant for another process.
      final Pending p = pending.get(session);
      if (p == null || p.request().rank() != proof.rank() || proof.runId() != runId) {
        gate.countDecodeFailure(Rejection.STALE);
        return;
      }
      if (!JoinAuth.verify(options.secret(), runId, p.request(), p.nonce(), proof.proof())) {
        gate.countDecodeFailure(Rejection.IMPOSTOR);
        options
            .out()
            .printf(
                Locale.ROOT,
                "coordinator: rejected a join proof as tower %d from %s (pid %d): wrong secret, or"
                    + " an answer to a challenge meant for another process%n",
                proof.rank(),
                p.request().host(),
                p.request().pid());
        return;
      }
      pending.remove(session);
      if (joined[proof.rank()] == null) {
        joined[proof.rank()] = new Joined(p.request(), p.publication(), session);
        options
            .out()
            .printf(
                Locale.ROOT,
                "coordinator: tower %d joined from %s (pid %d, device %d)%n",
                proof.rank(),
                p.request().host(),
                p.request().pid(),
                p.request().device());
      }
    }
  }

  private Publication publicationTo(final Join.Request q) {
    final String channel = ControlChannels.toWorker(options.transport(), q.controlEndpoint());
    final int stream = ControlChannels.toWorkerStream(options.transport(), q.rank());
    return publications.computeIfAbsent(
        channel + "#" + stream, k -> aeron.addPublication(channel, stream));
  }

  /** The run id every message of this run carries. */
  public long runId() {
    return runId;
  }

  /** Messages rejected so far, by reason. */
  public String rejections() {
    return gate.summary();
  }

  /** How many messages were rejected for {@code reason}. */
  public long rejected(final Rejection reason) {
    return gate.count(reason);
  }

  @Override
  public int towers() {
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
    final Join.Request q = joined[rank].request();
    return String.format(Locale.ROOT, "%s pid %d device %d", q.host(), q.pid(), q.device());
  }

  @Override
  public void send(final Command command) {
    throwIfLost();
    if (command instanceof Command.TrainStep s) {
      currentStep.set(s.step());
      stalls.sent(System.nanoTime());
    } else {
      stalls.disarm();
    }
    for (final Joined j : joined) {
      sender.send(j.publication(), command, j.name());
    }
  }

  @Override
  public List<Report> collect() throws InterruptedException {
    final List<Report> round = new ArrayList<>(towers());
    long graceEnd = Long.MAX_VALUE;
    boolean stalled = false;
    while (round.size() < towers()) {
      throwIfLost();
      final Report r = reports.poll(20, TimeUnit.MILLISECONDS);
      if (r != null) {
        round.add(r);
        if (r instanceof Report.Failed && graceEnd == Long.MAX_VALUE) {
          // The others were aborted; give their reports a moment, then name the failure anyway.
          graceEnd = System.nanoTime() + options.heartbeatTimeout().toNanos();
        }
      } else if (System.nanoTime() - graceEnd > 0) {
        break;
      } else if (!stalled && System.nanoTime() - stalls.deadline() > 0) {
        // Heartbeats still arrive but the step makes no progress: stop the towers waiting in
        // collectives, and name the ones that stay silent.
        stalled = true;
        abortOthers(-1, "the step missed its deadline (failure.stepDeadline)");
        graceEnd = System.nanoTime() + options.heartbeatTimeout().toNanos();
      }
    }
    if (stalled) {
      final List<Integer> silent = Rounds.silent(round, towers());
      if (!silent.isEmpty()) {
        throw new TowerFailedException(
            "tower(s) "
                + silent
                + " stalled at step "
                + currentStep.get()
                + ": no progress for 3 typical steps + failure.stepDeadline while their heartbeats"
                + " still arrive",
            Report.Cause.STALLED,
            silent.get(0));
      }
    }
    stalls.completed(System.nanoTime());
    return Rounds.complete(round);
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
    send(new Command.ExportWeights(runId, Math.max(currentStep.get(), 0), file.toString()));
    collect();
    WeightsFile.load(model, file, WeightLayout.PYTORCH, new ImportOptions(true, Set.of()));
    try {
      Files.deleteIfExists(file);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Tells every tower still reachable to shut down (a lost one is skipped: it cannot hear it),
   * stops the I/O thread and closes the channels.
   */
  @Override
  public void close() throws InterruptedException {
    closing = true;
    if (io != null) {
      for (final Joined j : joined) {
        if (j.request().rank() == lostRank) {
          continue;
        }
        try {
          sender.send(j.publication(), new Command.Shutdown(runId), j.name());
        } catch (TransportException e) {
          // It exits on its own when the coordinator's heartbeats stop.
        }
      }
    }
    running = false;
    if (io != null) {
      io.join(TimeUnit.SECONDS.toMillis(5));
    }
    closeChannels();
  }

  private void closeChannels() {
    CloseHelper.closeAll(publications.values());
    CloseHelper.close(inbox);
  }
}
