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
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
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
 * endpoint. One join per rank: the first claimant of a rank to prove the secret holds it; any other
 * process claiming it, at the same time or later (also once training runs), gets a {@link
 * Join.Refused} and is never welcomed. A wrong proof, a second claim, a wrong world size, another
 * run's or a replayed message are rejected and counted ({@link #rejections()}), never applied; the
 * first rejection is printed when it happens and the counts when the towers close.
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

  /** A claimant of a rank that was challenged and has not proven itself yet. */
  private record Claim(Join.Request request, byte[] nonce, Publication publication) {}

  /** At most this many unproven claimants per rank are remembered (the oldest is forgotten). */
  private static final int MAX_CLAIMS_PER_RANK = 4;

  /** At most this many channels opened only to refuse a claimant are open at once. */
  private static final int MAX_REFUSAL_CHANNELS = 4;

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
  private final Map<Integer, List<Claim>> claims = new HashMap<>();
  private final Map<String, Publication> publications = new HashMap<>();
  private final Set<Join.Request> refusedLogged = new HashSet<>();
  private final Map<String, Publication> refusalChannels = new LinkedHashMap<>();
  private final AtomicBoolean firstRejectionLogged = new AtomicBoolean();
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
          new Join.Welcome(runId, j.request().rank(), n, j.request().pid(), endpoints, configYaml),
          j.name());
    }
    joinPhase = false;
    claims.clear();
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
      final Decoded.Rejected r = (Decoded.Rejected) decoded;
      reject(r.reason(), r.detail());
      return;
    }
    final Message m = ok.message();
    if (m instanceof Join j) {
      // After the join phase every rank is taken: a request is refused, a proof is stale.
      onJoin(j, header.sessionId());
      return;
    }
    final Rejection why = gate.check(ok);
    if (why != null) {
      firstRejection(why, m.getClass().getSimpleName() + " from sender " + ok.sender());
      return;
    }
    final int rank = ok.sender();
    if (joined[rank] == null || joined[rank].session() != header.sessionId()) {
      reject(
          Rejection.UNKNOWN_SENDER,
          m.getClass().getSimpleName() + " as tower " + rank + " from another connection");
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

  /**
   * The join handshake, one join per rank: every claimant of a free rank is challenged; the first
   * to prove the secret holds the rank; every other claimant (at once if the rank is held, or when
   * the holder proves itself) is sent {@link Join.Refused} and never welcomed, so it never opens
   * the tower's data channels (whose session ids are the rank's: a second process would clash).
   */
  private void onJoin(final Join message, final int session) {
    final int n = options.towers();
    if (message instanceof Join.Request q) {
      if (q.rank() < 0 || q.rank() >= n || q.worldSize() != n) {
        reject(Rejection.UNKNOWN_SENDER, "a join as rank " + q.rank() + " of " + q.worldSize());
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
      final Joined holder = joined[q.rank()];
      if (holder != null) {
        if (!holder.request().equals(q)) {
          refuse(q, holder);
        }
        return; // else a repeated request of the joined worker: it is welcomed with the others
      }
      final List<Claim> rankClaims = claims.computeIfAbsent(q.rank(), r -> new ArrayList<>());
      rankClaims.removeIf(c -> c.request().equals(q)); // a repeated request gets a fresh nonce
      if (rankClaims.size() >= MAX_CLAIMS_PER_RANK) {
        rankClaims.remove(0);
      }
      final Publication p = publicationTo(q);
      final byte[] nonce = JoinAuth.newNonce(random);
      rankClaims.add(new Claim(q, nonce, p));
      if (p.isConnected()) {
        sender.send(p, new Join.Challenge(runId, q.rank(), nonce, q.pid()), "tower " + q.rank());
      }
    } else if (message instanceof Join.Proof proof) {
      final List<Claim> rankClaims = joinPhase ? claims.get(proof.rank()) : null;
      if (rankClaims == null || proof.runId() != runId) {
        reject(Rejection.STALE, "a join proof as tower " + proof.rank() + " with no challenge");
        return;
      }
      Claim proven = null;
      for (final Claim c : rankClaims) {
        if (JoinAuth.verify(options.secret(), runId, c.request(), c.nonce(), proof.proof())) {
          proven = c;
          break;
        }
      }
      if (proven == null) {
        reject(Rejection.IMPOSTOR, "a join proof as tower " + proof.rank());
        options
            .out()
            .printf(
                Locale.ROOT,
                "coordinator: rejected a join proof as tower %d: wrong secret, or an answer to an"
                    + " earlier challenge%n",
                proof.rank());
        return;
      }
      rankClaims.remove(proven);
      final Join.Request q = proven.request();
      if (joined[q.rank()] != null) {
        refuse(q, joined[q.rank()]);
        return;
      }
      final Joined holder = new Joined(q, proven.publication(), session);
      joined[q.rank()] = holder;
      options
          .out()
          .printf(
              Locale.ROOT,
              "coordinator: tower %d joined from %s (pid %d, device %d)%n",
              q.rank(),
              q.host(),
              q.pid(),
              q.device());
      final List<Claim> others = List.copyOf(rankClaims);
      rankClaims.clear();
      for (final Claim other : others) {
        refuse(other.request(), holder);
      }
    }
  }

  /**
   * Turns away {@code q}, a claimant of the rank {@code holder} holds: counted, logged once per
   * claimant, and answered with {@link Join.Refused} (addressed to its pid, so the holder, which
   * over IPC reads the same stream, ignores it). Over IPC the rank's existing channel carries it;
   * over UDP the claimant has its own endpoint, reached by a channel opened for this answer only
   * and closed once it is sent. Never blocks: a channel not connected yet is answered at the
   * claimant's next request (workers repeat theirs every second).
   */
  private void refuse(final Join.Request q, final Joined holder) {
    reject(Rejection.RANK_TAKEN, "a second claim on rank " + q.rank());
    final String reason =
        holder.name() + " holds it in run " + String.format(Locale.ROOT, "%016x", runId);
    if (refusedLogged.size() < 64 && refusedLogged.add(q)) {
      options
          .out()
          .printf(
              Locale.ROOT,
              "coordinator: refused a second claim on rank %d from %s (pid %d): %s%n",
              q.rank(),
              q.host(),
              q.pid(),
              reason);
    }
    final String key = channelKey(q);
    Publication p = publications.get(key);
    if (p == null) {
      p = refusalChannels.get(key);
    }
    if (p == null) {
      if (refusalChannels.size() >= MAX_REFUSAL_CHANNELS) {
        // Claimants that never connected (gone, or forged requests): forget the oldest.
        final String eldest = refusalChannels.keySet().iterator().next();
        CloseHelper.close(refusalChannels.remove(eldest));
      }
      p =
          aeron.addPublication(
              ControlChannels.toWorker(options.transport(), q.controlEndpoint()),
              ControlChannels.toWorkerStream(options.transport(), q.rank()));
      refusalChannels.put(key, p);
    }
    if (!p.isConnected()) {
      return;
    }
    try {
      sender.send(p, new Join.Refused(runId, q.rank(), q.pid(), reason), "the claimant");
    } catch (TransportException e) {
      return; // it went away; nothing to tell
    }
    if (!isInUse(key)) {
      // Its own channel, now useless. Aeron still delivers what was offered before it closes.
      publications.remove(key);
      refusalChannels.remove(key);
      CloseHelper.close(p);
    }
  }

  /** Whether a joined tower or an open claim uses the channel {@code key}. */
  private boolean isInUse(final String key) {
    for (final Joined j : joined) {
      if (j != null && channelKey(j.request()).equals(key)) {
        return true;
      }
    }
    for (final List<Claim> rankClaims : claims.values()) {
      for (final Claim c : rankClaims) {
        if (channelKey(c.request()).equals(key)) {
          return true;
        }
      }
    }
    return false;
  }

  /** Counts a dropped frame and says so the first time, so a rejection is never silent. */
  private void reject(final Rejection reason, final String detail) {
    gate.countDecodeFailure(reason);
    firstRejection(reason, detail);
  }

  private void firstRejection(final Rejection reason, final String detail) {
    if (firstRejectionLogged.compareAndSet(false, true)) {
      options
          .out()
          .printf(
              Locale.ROOT,
              "coordinator: rejected a message (%s: %s); later ones are counted and printed when"
                  + " the run ends%n",
              reason.name().toLowerCase(Locale.ROOT).replace('_', ' '),
              detail);
    }
  }

  private String channelKey(final Join.Request q) {
    return ControlChannels.toWorker(options.transport(), q.controlEndpoint())
        + "#"
        + ControlChannels.toWorkerStream(options.transport(), q.rank());
  }

  private Publication publicationTo(final Join.Request q) {
    final String channel = ControlChannels.toWorker(options.transport(), q.controlEndpoint());
    final int stream = ControlChannels.toWorkerStream(options.transport(), q.rank());
    return publications.computeIfAbsent(channelKey(q), k -> aeron.addPublication(channel, stream));
  }

  /** The run id every message of this run carries. */
  public long runId() {
    return runId;
  }

  /** Messages rejected so far, by reason. */
  public String rejections() {
    return gate.summary();
  }

  /** The last sequence number accepted from tower {@code rank} (tests forge replays below it). */
  long lastSequence(final int rank) {
    return gate.lastSequence(rank);
  }

  /** How many messages were rejected for {@code reason}. */
  public long rejected(final Rejection reason) {
    return gate.count(reason);
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
    final List<Report> round = new ArrayList<>(count());
    long graceEnd = Long.MAX_VALUE;
    boolean stalled = false;
    while (round.size() < count()) {
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
      final List<Integer> silent = Rounds.silent(round, count());
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
    options.out().println("coordinator: stopped; " + rejections());
  }

  private void closeChannels() {
    CloseHelper.closeAll(refusalChannels.values());
    CloseHelper.closeAll(publications.values());
    CloseHelper.close(inbox);
  }
}
