package io.synctower.coordinator.cluster;

import io.aeron.Aeron;
import io.aeron.Publication;
import io.synctower.common.protocol.Join;
import io.synctower.common.protocol.JoinAuth;
import io.synctower.common.protocol.Rejection;
import io.synctower.common.protocol.Report;
import io.synctower.coordinator.towers.TowerFailedException;
import io.synctower.worker.remote.ControlChannels;
import io.synctower.worker.remote.ControlSender;
import io.synctower.worker.remote.TransportException;
import io.synctower.worker.transport.TransportKind;
import java.io.PrintStream;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.agrona.CloseHelper;
import org.agrona.concurrent.IdleStrategy;

/**
 * Who holds each rank: the join handshake, one join per rank. Each worker sends a {@link
 * Join.Request}; it is answered with a fresh {@link Join.Challenge}; the first claimant of a rank
 * to prove it holds the run's secret ({@link JoinAuth}) holds the rank; every other claimant (at
 * once if the rank is held, or when the holder proves itself, also once training runs) is sent
 * {@link Join.Refused} and never welcomed, so it never opens the tower's data channels (whose
 * session ids are the rank's: a second process would clash). Once every rank is held, each tower
 * gets a {@link Join.Welcome} with the configuration and every tower's data endpoint.
 *
 * <pre>{@code
 * List<JoinedTower> towers = handshake.await(inbox);   // inbox.poll() calls onJoin
 * handshake.welcome(configYaml);
 * }</pre>
 *
 * <p>Threads: {@link #onJoin} is called by the thread polling the inbox (the one in {@link #await},
 * then the I/O thread, which only refuses); the channels it opened are closed by {@link #close}.
 */
final class JoinHandshake implements AutoCloseable {
  /** A claimant of a rank that was challenged and has not proven itself yet. */
  private record Claim(Join.Request request, byte[] nonce, Publication publication) {}

  /** At most this many unproven claimants per rank are remembered (the oldest is forgotten). */
  private static final int MAX_CLAIMS_PER_RANK = 4;

  /** At most this many channels opened only to refuse a claimant are open at once. */
  private static final int MAX_REFUSAL_CHANNELS = 4;

  private final Aeron aeron;
  private final long runId;
  private final TransportKind transport;
  private final String bindEndpoint;
  private final byte[] secret;
  private final PrintStream out;
  private final ControlSender sender;
  private final RejectionLog rejections;
  private final JoinedTower[] joined;
  private final Map<Integer, List<Claim>> claims = new HashMap<>();
  private final Map<String, Publication> publications = new HashMap<>();
  private final Set<Join.Request> refusedLogged = new HashSet<>();
  private final Map<String, Publication> refusalChannels = new LinkedHashMap<>();
  private final SecureRandom random = new SecureRandom();
  private boolean joinPhase = true;

  JoinHandshake(
      final Aeron aeron,
      final long runId,
      final RemoteTowers.Options options,
      final ControlSender sender,
      final RejectionLog rejections) {
    this.aeron = aeron;
    this.runId = runId;
    this.transport = options.transport();
    this.bindEndpoint = options.bindEndpoint();
    this.secret = options.secret();
    this.out = options.out();
    this.sender = sender;
    this.rejections = rejections;
    this.joined = new JoinedTower[options.towers()];
  }

  /**
   * Polls {@code inbox} until every rank is held, printing every 5 s who is still missing; returns
   * the towers by rank.
   *
   * @throws TowerFailedException naming the ranks that did not join within {@code joinTimeout}
   */
  List<JoinedTower> await(final ControlInbox inbox, final Duration joinTimeout)
      throws InterruptedException {
    final int n = joined.length;
    final IdleStrategy idle = ControlChannels.idleStrategy();
    final long start = System.nanoTime();
    final long deadline = start + joinTimeout.toNanos();
    long nextStatus = start + TimeUnit.SECONDS.toNanos(5);
    out.printf(
        Locale.ROOT,
        "coordinator: run %016x waiting for %d tower(s) on %s%n",
        runId,
        n,
        transport == TransportKind.IPC
            ? "Aeron IPC (" + aeron.context().aeronDirectoryName() + ")"
            : "UDP " + bindEndpoint);
    while (joinedCount() < n) {
      final int work = inbox.poll();
      final long now = System.nanoTime();
      if (now - deadline > 0) {
        throw new TowerFailedException(
            "tower(s) "
                + missing()
                + " did not join within "
                + joinTimeout.toSeconds()
                + " s. Check that each worker was started (its log), with the same secret, --towers "
                + n
                + ", and that it can reach this coordinator"
                + (transport == TransportKind.UDP
                    ? " at " + bindEndpoint + " (UDP; firewall?)"
                    : "")
                + ". "
                + rejections.summary(),
            Report.Cause.LOST,
            -1);
      }
      if (now - nextStatus > 0) {
        out.printf(
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
    return List.of(joined);
  }

  /**
   * Sends every tower its {@link Join.Welcome} (the configuration and every tower's data endpoint)
   * and ends the join phase: from now on a proof is stale and a request is refused.
   */
  void welcome(final String configYaml) {
    final List<String> endpoints = new ArrayList<>();
    for (final JoinedTower j : joined) {
      endpoints.add(j.request().dataEndpoint());
    }
    for (final JoinedTower j : joined) {
      sender.send(
          j.publication(),
          new Join.Welcome(
              runId, j.rank(), joined.length, j.request().pid(), endpoints, configYaml),
          j.name());
    }
    joinPhase = false;
    claims.clear();
  }

  /** The tower holding {@code rank}, or null while nobody does. */
  JoinedTower holder(final int rank) {
    return joined[rank];
  }

  private int joinedCount() {
    int c = 0;
    for (final JoinedTower j : joined) {
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

  /**
   * A join message arrived on Aeron session {@code session}: a request is challenged (or refused,
   * if its rank is held); a proof that answers a challenge makes its sender the rank's holder.
   */
  void onJoin(final Join message, final int session) {
    final int n = joined.length;
    if (message instanceof Join.Request q) {
      if (q.rank() < 0 || q.rank() >= n || q.worldSize() != n) {
        rejections.reject(
            Rejection.UNKNOWN_SENDER, "a join as rank " + q.rank() + " of " + q.worldSize());
        out.printf(
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
      final JoinedTower holder = joined[q.rank()];
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
        rejections.reject(
            Rejection.STALE, "a join proof as tower " + proof.rank() + " with no challenge");
        return;
      }
      Claim proven = null;
      for (final Claim c : rankClaims) {
        if (JoinAuth.verify(secret, runId, c.request(), c.nonce(), proof.proof())) {
          proven = c;
          break;
        }
      }
      if (proven == null) {
        rejections.reject(Rejection.IMPOSTOR, "a join proof as tower " + proof.rank());
        out.printf(
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
      final JoinedTower holder = new JoinedTower(q, proven.publication(), session);
      joined[q.rank()] = holder;
      out.printf(
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
  private void refuse(final Join.Request q, final JoinedTower holder) {
    rejections.reject(Rejection.RANK_TAKEN, "a second claim on rank " + q.rank());
    final String reason =
        holder.name() + " holds it in run " + String.format(Locale.ROOT, "%016x", runId);
    if (refusedLogged.size() < 64 && refusedLogged.add(q)) {
      out.printf(
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
              ControlChannels.toWorker(transport, q.controlEndpoint()),
              ControlChannels.toWorkerStream(transport, q.rank()));
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
    for (final JoinedTower j : joined) {
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

  private String channelKey(final Join.Request q) {
    return ControlChannels.toWorker(transport, q.controlEndpoint())
        + "#"
        + ControlChannels.toWorkerStream(transport, q.rank());
  }

  private Publication publicationTo(final Join.Request q) {
    final String channel = ControlChannels.toWorker(transport, q.controlEndpoint());
    final int stream = ControlChannels.toWorkerStream(transport, q.rank());
    return publications.computeIfAbsent(channelKey(q), k -> aeron.addPublication(channel, stream));
  }

  /** Closes every channel it opened, the towers' included. */
  @Override
  public void close() {
    CloseHelper.closeAll(refusalChannels.values());
    CloseHelper.closeAll(publications.values());
  }
}
