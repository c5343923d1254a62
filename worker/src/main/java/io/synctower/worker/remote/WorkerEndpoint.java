package io.synctower.worker.remote;

import io.aeron.Aeron;
import io.aeron.FragmentAssembler;
import io.aeron.Image;
import io.aeron.Publication;
import io.aeron.Subscription;
import io.aeron.logbuffer.Header;
import io.synctower.common.comm.Collective;
import io.synctower.common.config.ConfigException;
import io.synctower.common.protocol.Command;
import io.synctower.common.protocol.ControlCodec;
import io.synctower.common.protocol.Decoded;
import io.synctower.common.protocol.Heartbeat;
import io.synctower.common.protocol.Join;
import io.synctower.common.protocol.JoinAuth;
import io.synctower.common.protocol.Message;
import io.synctower.common.protocol.MessageGate;
import io.synctower.common.protocol.Report;
import io.synctower.worker.TowerRuntime;
import io.synctower.worker.assembly.GroupOpener;
import io.synctower.worker.transport.AeronCollective;
import io.synctower.worker.transport.TransportKind;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import org.agrona.CloseHelper;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.IdleStrategy;

/**
 * One worker process's end of the run: joins the coordinator (proving the run's secret), builds its
 * tower from the configuration the coordinator sends, and then relays control messages between the
 * coordinator and the tower thread while beating its heart.
 *
 * <pre>{@code
 * try (WorkerEndpoint endpoint = new WorkerEndpoint(aeron, options, out)) {
 *   int exit = endpoint.run(factory);   // returns when the coordinator says Shutdown, or fails
 * }
 * }</pre>
 *
 * <p>Threads: {@link #run} is the control loop (this thread never computes, so heartbeats go out
 * even during a long step); the tower runs on its own thread and sends its reports directly through
 * the thread-safe {@link ControlSender}. An {@link Command.Abort} from the coordinator aborts the
 * tower's collectives from the control thread, because a tower blocked in a collective does not
 * read its inbox.
 *
 * <p>Failure: a coordinator silent for {@code heartbeatTimeout}, or its connection closing, aborts
 * the tower and ends the process with a clear message; nothing waits forever. A coordinator that
 * refuses the join (another process holds this rank: {@link Join.Refused}) ends it with an error
 * naming the rank and the holder, before it was welcomed or opened any data channel.
 */
public final class WorkerEndpoint implements AutoCloseable {
  /** Exit codes of {@link #run}. */
  public static final int EXIT_OK = 0;

  public static final int EXIT_TOWER_FAILED = 1;
  public static final int EXIT_COORDINATOR_LOST = 3;

  /**
   * @param coordinatorEndpoint the coordinator's {@code host:port} (UDP; ignored for IPC)
   * @param bindEndpoint where this worker listens, {@code host:port} (UDP)
   * @param advertisedEndpoint how the others reach it, {@code host:port} (UDP)
   */
  public record Options(
      int rank,
      int worldSize,
      int device,
      TransportKind transport,
      String coordinatorEndpoint,
      String bindEndpoint,
      String advertisedEndpoint,
      byte[] secret,
      Duration heartbeatInterval,
      Duration heartbeatTimeout,
      Duration joinTimeout) {
    public Options {
      Objects.requireNonNull(transport, "transport");
      Objects.requireNonNull(secret, "secret");
      if (rank < 0 || rank >= worldSize) {
        throw new IllegalArgumentException("rank " + rank + " is outside 0.." + (worldSize - 1));
      }
    }
  }

  /** Builds the tower from the Welcome; runs on the tower's own thread. */
  @FunctionalInterface
  public interface TowerFactory {
    TowerRuntime create(
        Join.Welcome welcome,
        GroupOpener groups,
        BlockingQueue<Command> inbox,
        Consumer<Report> reports,
        Runnable abortCollectives)
        throws Exception;
  }

  private final Aeron aeron;
  private final Options options;
  private final PrintStream log;
  private final ControlSender sender;
  private final ControlCodec codec;
  private final Subscription inbox;
  private final Publication toCoordinator;
  private final FragmentAssembler assembler;
  private final IdleStrategy idle = ControlChannels.idleStrategy();
  private final List<AeronCollective> collectives = new ArrayList<>();
  private final BlockingQueue<Command> towerInbox = new LinkedBlockingQueue<>();

  private long runId;
  private byte[] nonce;
  private Join.Welcome welcome;
  private MessageGate gate;
  private int coordinatorSession = Integer.MIN_VALUE;
  private volatile boolean coordinatorGone;
  private long lastCoordinatorBeat;
  private boolean shutdown;
  private volatile boolean towerFailed;
  private final Join.Request request;
  private BooleanSupplier ownerGone = () -> false;
  // Set by the fragment handler, thrown by the join loop: Aeron's poll catches what a handler
  // throws (and only logs it), so the handler must not throw to end the join.
  private RuntimeException joinFailure;
  private String owner = "";

  public WorkerEndpoint(final Aeron aeron, final Options options, final PrintStream log) {
    this.aeron = Objects.requireNonNull(aeron, "aeron");
    this.options = Objects.requireNonNull(options, "options");
    this.log = Objects.requireNonNull(log, "log");
    final long timeout = options.heartbeatTimeout().toNanos();
    this.sender = new ControlSender(options.secret(), timeout);
    this.codec = new ControlCodec(options.secret());
    final TransportKind kind = options.transport();
    this.inbox =
        aeron.addSubscription(
            ControlChannels.toWorker(kind, options.bindEndpoint()),
            ControlChannels.toWorkerStream(kind, options.rank()),
            image -> {},
            this::onUnavailable);
    this.toCoordinator =
        aeron.addPublication(
            ControlChannels.toCoordinator(kind, options.coordinatorEndpoint()),
            ControlChannels.toCoordinatorStream());
    this.assembler = new FragmentAssembler(this::onFragment);
    this.request =
        new Join.Request(
            options.rank(),
            options.worldSize(),
            ProcessHandle.current().pid(),
            options.device(),
            hostName(),
            kind == TransportKind.UDP ? options.advertisedEndpoint() : "",
            kind == TransportKind.UDP ? options.advertisedEndpoint() : "");
  }

  /**
   * Also stops this worker (before or after joining) once {@code gone} says the process that
   * started it has ended: a worker of {@code synctower launch} whose launcher was killed (SIGKILL
   * runs no cleanup) would otherwise wait out the join timeout. Checked about once per heartbeat
   * interval; call before {@link #run}.
   *
   * @param name the owner, for the log line, e.g. "launch (pid 4242)"
   */
  public void stopWhenGone(final String name, final BooleanSupplier gone) {
    this.owner = Objects.requireNonNull(name, "name");
    this.ownerGone = Objects.requireNonNull(gone, "gone");
  }

  private void onUnavailable(final Image image) {
    if (image.sessionId() == coordinatorSession) {
      coordinatorGone = true;
    }
  }

  /**
   * Joins, runs the tower until the coordinator says Shutdown, and returns an exit code: {@link
   * #EXIT_OK}, {@link #EXIT_TOWER_FAILED} or {@link #EXIT_COORDINATOR_LOST}.
   */
  public int run(final TowerFactory factory) throws InterruptedException {
    join();
    final Thread tower = startTower(factory);
    final long beatEvery = options.heartbeatInterval().toNanos();
    long nextBeat = System.nanoTime();
    lastCoordinatorBeat = System.nanoTime();
    try {
      while (true) {
        final int work = inbox.poll(assembler, 16);
        final long now = System.nanoTime();
        boolean orphaned = false;
        if (now - nextBeat >= 0) {
          sender.send(
              toCoordinator,
              new Heartbeat(runId, options.rank(), System.currentTimeMillis()),
              "the coordinator");
          nextBeat = now + beatEvery;
          orphaned = ownerGone.getAsBoolean();
        }
        if (orphaned
            || coordinatorGone
            || now - lastCoordinatorBeat > options.heartbeatTimeout().toNanos()) {
          abortCollectives(new IllegalStateException("the coordinator is gone"));
          log.printf(
              "tower %d: the coordinator is gone (%s); stopping%n",
              options.rank(),
              orphaned
                  ? owner + " exited"
                  : coordinatorGone
                      ? "its connection closed"
                      : "no heartbeat for " + options.heartbeatTimeout().toMillis() + " ms");
          tower.interrupt();
          return EXIT_COORDINATOR_LOST;
        }
        if (!tower.isAlive()) {
          // Shutdown, or the tower failed and reported it: wait for the coordinator's Shutdown (or
          // its loss) so the report is surely read before this process closes its channel.
          if (shutdown) {
            return towerFailed ? EXIT_TOWER_FAILED : EXIT_OK;
          }
        }
        idle.idle(work);
      }
    } finally {
      tower.interrupt();
      tower.join(TimeUnit.SECONDS.toMillis(5));
    }
  }

  private Thread startTower(final TowerFactory factory) {
    final Consumer<Report> reports =
        report -> {
          if (report instanceof Report.Failed) {
            towerFailed = true;
          }
          sender.send(toCoordinator, report, "the coordinator");
        };
    final Thread t =
        new Thread(
            () -> {
              TowerRuntime runtime = null;
              try {
                runtime =
                    factory.create(
                        welcome,
                        this::openGroup,
                        towerInbox,
                        reports,
                        () -> abortCollectives(new IllegalStateException("this tower failed")));
              } catch (Throwable e) {
                abortCollectives(e);
                reports.accept(
                    new Report.Failed(
                        runId,
                        options.rank(),
                        -1,
                        "cannot start: " + e.getClass().getSimpleName() + ": " + e.getMessage(),
                        Report.Cause.CRASHED));
                return;
              }
              runtime.run();
            },
            "tower-" + options.rank());
    t.setDaemon(true);
    t.start();
    return t;
  }

  private Collective openGroup(final int groupId, final int firstRank, final int size) {
    final AeronCollective c =
        new AeronCollective(
            aeron,
            options.transport(),
            welcome.dataEndpoints().subList(firstRank, firstRank + size),
            groupId,
            options.rank() - firstRank,
            JoinAuth.dataKey(options.secret(), runId),
            null, // the collective's measured default for this transport
            options.joinTimeout());
    synchronized (collectives) {
      collectives.add(c);
    }
    return c;
  }

  private void abortCollectives(final Throwable cause) {
    synchronized (collectives) {
      for (final AeronCollective c : collectives) {
        c.abort(cause);
      }
    }
  }

  /**
   * Sends Join requests until the coordinator has challenged, verified and welcomed this worker.
   */
  private void join() throws InterruptedException {
    final long deadline = System.nanoTime() + options.joinTimeout().toNanos();
    long nextRequest = System.nanoTime();
    while (welcome == null) {
      final long now = System.nanoTime();
      if (now - deadline > 0) {
        throw new TransportException(
            "tower "
                + options.rank()
                + ": no welcome from the coordinator"
                + (options.transport() == TransportKind.UDP
                    ? " at " + options.coordinatorEndpoint()
                    : "")
                + " within "
                + options.joinTimeout().toSeconds()
                + " s. Is `synctower coordinator` running with --towers "
                + options.worldSize()
                + " and the same secret? Can this host reach it (firewall, --bind)?");
      }
      if (now - nextRequest >= 0) {
        if (ownerGone.getAsBoolean()) {
          throw new TransportException(
              "tower " + options.rank() + ": " + owner + " exited before this worker joined");
        }
        if (toCoordinator.isConnected()) {
          sender.send(toCoordinator, request, "the coordinator");
        }
        nextRequest = now + TimeUnit.SECONDS.toNanos(1);
      }
      final int work = inbox.poll(assembler, 16);
      if (joinFailure != null) {
        throw joinFailure;
      }
      idle.idle(work);
      if (Thread.interrupted()) {
        throw new InterruptedException();
      }
    }
    log.printf(
        "tower %d: joined run %016x (%d towers)%n", options.rank(), runId, welcome.worldSize());
  }

  private void onFragment(
      final DirectBuffer buffer, final int offset, final int length, final Header header) {
    final Decoded decoded = codec.decode(buffer, offset, length);
    if (!(decoded instanceof Decoded.Ok ok)) {
      if (gate != null) {
        gate.countDecodeFailure(((Decoded.Rejected) decoded).reason());
      }
      return;
    }
    final Message m = ok.message();
    if (welcome == null) {
      onJoinMessage(m, header);
      return;
    }
    if (header.sessionId() != coordinatorSession || gate.check(ok) != null) {
      return; // another run's, replayed, or not from our coordinator: counted, never applied
    }
    lastCoordinatorBeat = System.nanoTime();
    if (m instanceof Command.Abort a) {
      abortCollectives(
          new IllegalStateException(
              "aborted by the coordinator: tower " + a.culprit() + " " + a.reason()));
    } else if (m instanceof Command c) {
      if (c instanceof Command.Shutdown) {
        shutdown = true;
      }
      towerInbox.add(c);
    }
  }

  private void onJoinMessage(final Message m, final Header header) {
    // Over IPC every process listening as this rank reads this stream: only what answers this
    // process's request (its pid) is for it.
    if (m instanceof Join.Refused r && r.rank() == options.rank() && r.pid() == request.pid()) {
      joinFailure =
          new ConfigException(
              "the worker's rank",
              List.of(
                  "rank "
                      + r.rank()
                      + " is already taken: "
                      + r.reason()
                      + ". Give every worker of the run its own rank 0.."
                      + (options.worldSize() - 1)
                      + " (--rank, RANK or SLURM_PROCID), or stop the other process first"));
      return;
    }
    if (m instanceof Join.Challenge c && c.rank() == options.rank() && c.pid() == request.pid()) {
      runId = c.runId();
      nonce = c.nonce();
      sender.send(
          toCoordinator,
          new Join.Proof(
              runId, options.rank(), JoinAuth.proof(options.secret(), runId, request, nonce)),
          "the coordinator");
    } else if (m instanceof Join.Welcome w
        && nonce != null
        && w.runId() == runId
        && w.rank() == options.rank()
        && w.pid() == request.pid()) {
      // Authenticated by its tag: only a holder of the secret can have sent it.
      if (w.worldSize() != options.worldSize()) {
        joinFailure =
            new TransportException(
                "the coordinator runs "
                    + w.worldSize()
                    + " towers but this worker was started for "
                    + options.worldSize()
                    + "; use the same --towers / WORLD_SIZE everywhere");
        return;
      }
      coordinatorSession = header.sessionId();
      gate = new MessageGate(runId, options.worldSize(), true);
      welcome = w;
    }
  }

  /** Rejected messages, by reason, for the log. */
  public String rejections() {
    return gate == null ? "rejected: none" : gate.summary();
  }

  @Override
  public void close() {
    abortCollectives(new IllegalStateException("worker closing"));
    synchronized (collectives) {
      CloseHelper.closeAll(collectives);
    }
    CloseHelper.closeAll(inbox, toCoordinator);
  }

  private static String hostName() {
    try {
      return java.net.InetAddress.getLocalHost().getHostName();
    } catch (java.net.UnknownHostException e) {
      return "unknown-host";
    }
  }
}
