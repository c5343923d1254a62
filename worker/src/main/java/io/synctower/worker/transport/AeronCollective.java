package io.synctower.worker.transport;

import io.aeron.Aeron;
import io.aeron.ExclusivePublication;
import io.aeron.Image;
import io.aeron.Publication;
import io.aeron.Subscription;
import io.aeron.logbuffer.ControlledFragmentHandler;
import io.aeron.logbuffer.ControlledFragmentHandler.Action;
import io.aeron.logbuffer.FrameDescriptor;
import io.aeron.logbuffer.Header;
import io.synctower.common.backend.HostMemory;
import io.synctower.common.comm.Chunks;
import io.synctower.common.comm.Collective;
import io.synctower.common.comm.CollectiveAbortedException;
import io.synctower.common.comm.InProcessGroup;
import io.synctower.common.protocol.sbe.MessageHeaderDecoder;
import io.synctower.common.protocol.sbe.MessageHeaderEncoder;
import io.synctower.common.protocol.sbe.ReduceFrameDecoder;
import io.synctower.common.protocol.sbe.ReduceFrameEncoder;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.agrona.BufferUtil;
import org.agrona.CloseHelper;
import org.agrona.DirectBuffer;
import org.agrona.UnsafeApi;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * One member of a group whose {@link Collective} runs over Aeron, IPC or UDP, with results bit for
 * bit equal to {@link InProcessGroup}'s: the same chunks ({@link Chunks}) summed in the same order.
 *
 * <p>The caller's loop (the tower's own thread; one member object per tower and process):
 *
 * <pre>{@code
 * // the caller owns the driver and the Aeron client, and closes them after the member
 * try (AeronCollective world = new AeronCollective(aeron, TransportKind.UDP, endpoints,
 *          0, rank, runKey, null, Duration.ofSeconds(30))) {
 *   world.connect();                                   // waits for every peer, or throws
 *   while (training) {
 *     ... forward, backward ...
 *     world.allReduceSum(gradients, unionStatistics);  // in place, one round for both
 *   }
 * }
 * // on failure, from any thread (watchdog, control channel): world.abort(cause);
 * }</pre>
 *
 * <h2>Algorithms</h2>
 *
 * <ul>
 *   <li>IPC rounds of more than {@link DataChannels#sharedMemoryMinBytes()} (128 KiB by default):
 *       shared memory, bypassing the Aeron log and the media driver. Members of one driver are on
 *       one host, so each maps its own file in the Aeron directory and its peers' ({@link
 *       SharedSlots}, three parts of {@link DataChannels#sharedPieceBytes()}, 1 MiB). Per piece of
 *       the round: copy the values of the other members' chunks into the own slot, publish, wait
 *       for the peers; sum the own chunk in the fixed order from the tensor and the peers' slots
 *       into the tensor and the slot, publish, wait; copy the other chunks' results out of their
 *       owners' slots. Pipelined, one wait per piece. Against the ring: 3 MiB of slot per member
 *       that stays in cache instead of a 48 MiB log per publication, no term for the driver to zero
 *       and no conductor to wait for: 2 processes, 1 MiB 78 µs against 160, 64 MiB 10.3 ms against
 *       31 (medians of 4 alternated runs, load ~2.5; Open MPI 123 µs and 19.2 ms). {@code
 *       SYNCTOWER_IPC_SHM=off} or {@link DataChannels#withSharedMemory} turns it off; UDP never
 *       uses it.
 *   <li>Other rounds of more than {@link #SMALL_ROUND_BYTES} in total: a ring. Reduce-scatter in
 *       {@code N-1} steps (at step {@code s} rank {@code r} sends chunk {@code (r-s) mod N} of
 *       every buffer to rank {@code r+1} and adds its own values into chunk {@code (r-s-1) mod N}
 *       as it arrives from {@code r-1}), which sums chunk {@code c} as {@code ((b_c + b_(c+1)) +
 *       ...) + b_(c-1)}; then all-gather in {@code N-1} steps, copying. Each member sends and
 *       receives {@code 2(N-1)/N} of the round's bytes: bandwidth optimal.
 *   <li>Smaller rounds: a direct exchange. Every member sends all its buffers to every other
 *       member, receives theirs into scratch memory, and computes every chunk itself in the same
 *       fixed order: one network hop instead of {@code 2(N-1)}.
 *   <li>{@link #broadcast}: the root sends to every member. {@link #barrier}: every member sends an
 *       empty frame to every other member and waits for theirs.
 * </ul>
 *
 * <h2>Memory and copies</h2>
 *
 * Buffers are owned by the caller, read and overwritten in place, and not referenced after a call
 * returns. Sending copies straight from the tensor's memory into the Aeron log (no intermediate
 * buffer); receiving adds or copies straight from the log into the tensor (no reassembly; the add
 * passes 4 KiB blocks through two small arrays so that it runs in SIMD, see {@link ElementAdd}), or
 * into this member's scratch memory for the direct exchange (at most {@link #SMALL_ROUND_BYTES} per
 * peer, allocated once). Shared-memory rounds copy from the tensor into this member's slot and from
 * the peers' slots into the tensor; the slots (3 pieces per member, in a file this member creates
 * at construction and deletes on close or failure) are mapped once, at {@link #connect}. Nothing is
 * allocated per call or per message on the steady path.
 *
 * <h2>Wire format</h2>
 *
 * Every message is an SBE {@code ReduceFrame} (40 bytes: {@code runKey, round, elementOffset,
 * count, phase, bufferIndex}) followed by {@code count} little-endian elements. Receivers check
 * every frame against the exact sequence they expect from that sender (round, phase, buffer, first
 * element, count, and the byte length of the element type), so members that disagree on the
 * collective fail loudly instead of mixing data. Frames with another run key are counted ({@link
 * #rejectedFrames()}) and never applied; frames of the next round (a fast peer already started it)
 * stay in the log until this member gets there ({@link #deferredFrames()}). Shared-memory rounds
 * carry no frames: each piece's part holds the round number and a signature of the round's buffer
 * types, lengths and ranges, which every member checks against its own.
 *
 * <h2>Threads and failure</h2>
 *
 * All methods except {@link #abort}, {@link #isAborted} and the counters are for the owning thread
 * only. While it waits the member keeps polling its inbox (two members blocked in offer to each
 * other would otherwise deadlock; in a shared-memory round, so that a peer's abort frame, or a
 * frame of a peer that took the Aeron path, is seen). {@link #abort} makes the call in flight, and
 * every later call, throw {@link CollectiveAbortedException}; so do a closed connection, a peer
 * that stops taking data for longer than the stall timeout, and any protocol error (the member is
 * then unusable: its peers are mid-round).
 */
public final class AeronCollective implements Collective, AutoCloseable {
  /** SBE message header + {@code ReduceFrame} block: the elements that follow stay 8-aligned. */
  public static final int FRAME_HEADER_LENGTH =
      MessageHeaderEncoder.ENCODED_LENGTH + ReduceFrameEncoder.BLOCK_LENGTH;

  /**
   * Rounds up to this many bytes (all buffers together) use the direct exchange, larger ones the
   * ring. Median µs, direct / ring, 2 members as threads, 10,000 warm-up calls, 2-vCPU machine: IPC
   * 4 KiB 1.3 / 2.8, 16 KiB 3.1 / 2.7, 32 KiB 6.1 / 4.3, 64 KiB 12 / 7.9; UDP loopback 4 KiB 14 /
   * 187, 16 KiB 18 / 193, 32 KiB 37 / 203, 64 KiB 108 / 194, 128 KiB 133 / 235. A hop costs ~1 µs
   * on IPC but ~90 µs through the UDP driver's threads here, so the crossover is ~16 KiB on IPC and
   * above 128 KiB on UDP; with more members the direct exchange sends {@code N-1} times the data
   * where the ring sends {@code 2(N-1)/N}, so one threshold, low: 32 KiB. Also bounds each peer's
   * scratch memory.
   */
  public static final long SMALL_ROUND_BYTES = 32 << 10;

  /** Longest a single call may make no progress before it fails. */
  public static final Duration DEFAULT_STALL_TIMEOUT = Duration.ofMinutes(5);

  /**
   * Largest message (also capped by the publication's max message length, term / 8): the 40-byte
   * header and the per-offer cost vanish, and several messages fit in a window. 16 KiB, 64 KiB, 256
   * KiB and 1 MiB measured alike (IPC, 1-64 MiB rounds): the receiver works per fragment anyway.
   */
  static final int MAX_MESSAGE_BYTES = 256 << 10;

  /**
   * Yields per back-pressured offer before the idle strategy takes over. A back-pressured IPC
   * publisher waits for the media driver's conductor, the only thread that raises its limit; a
   * spinning member holds a core the conductor needs. 2 processes on 2 cores, IPC, 16 MiB terms:
   * spinning, about one 1 MiB all-reduce in eight (one per 8 MiB window) took ~2 ms instead of
   * ~0.14, and at 4 MiB every second one, often enough to make that the median; yielding at once
   * cut those tails (1 MiB p90 1.5-2.7 ms down to 0.5-0.65). Bounded, so a receiver that is really
   * stalled is waited for with the idle strategy's parks (20,000 yields: ~10 ms).
   */
  static final int BACK_PRESSURE_YIELDS = 20_000;

  /** Fragments per poll: up to 4 MiB per poll with 64 KiB IPC fragments. */
  private static final int FRAGMENT_LIMIT = 64;

  static final int PHASE_DIRECT = 0xFFFE;
  static final int PHASE_BROADCAST = 0xFFFD;
  static final int PHASE_BARRIER = 0xFFFC;

  /** A member failed mid-round; the payload is its reason in UTF-8. Applies to any round. */
  static final int PHASE_ABORT = 0xFFFF;

  private static final int MAX_REASON_BYTES = 1024;

  // What a peer is expected to send this round.
  private static final int PLAN_NONE = 0;
  private static final int PLAN_RING = 1;
  private static final int PLAN_DIRECT = 2;
  private static final int PLAN_BROADCAST = 3;
  private static final int PLAN_BARRIER = 4;

  private final DataChannels channels;
  private final int groupId;
  private final int rank;
  private final int size;
  private final long runKey;
  private final IdleStrategy idle;
  private final long connectTimeoutNs;
  private final long stallTimeoutNs;
  private final Subscription inbox;
  private final ExclusivePublication[] outbox;
  private final Peer[] peers;
  private final ControlledFragmentHandler handler = this::onFragment;
  private final UnsafeBuffer headerBuffer =
      new UnsafeBuffer(BufferUtil.allocateDirectAligned(64, 64));
  private final ReduceFrameEncoder frameEncoder = new ReduceFrameEncoder();
  private final MessageHeaderDecoder headerDecoder = new MessageHeaderDecoder();
  private final ReduceFrameDecoder frameDecoder = new ReduceFrameDecoder();
  private final UnsafeBuffer payload = new UnsafeBuffer(0, 0);
  // IEEE addition is commutative, so term + acc is the same value as acc + term: only the
  // association, fixed by the chunk order, decides the bits.
  private final ElementAdd adder = new ElementAdd();
  private final AtomicReference<Throwable> abortCause = new AtomicReference<>();
  private final INDArray[] single = new INDArray[1];
  // IPC rounds above channels.sharedMemoryMinBytes(): null when off, UDP, or a group of one.
  private final SharedSlots shared;

  // The round in flight (owner thread only).
  private long round;
  private int bufferCount;
  private long[] address = new long[8];
  private long[] length = new long[8];
  private boolean[] isDouble = new boolean[8];
  private long[] scratchOffset = new long[8];
  // allReduceSumRange: buffer i is elements [origin, origin + length) of a buffer of whole
  // elements, whose chunks decide the order of the sums. 0 and length for whole buffers.
  private long[] origin = new long[8];
  private long[] whole = new long[8];
  private int pendingPeers;
  private long lastProgressNs;
  private boolean progressed;
  private RuntimeException failure;
  private boolean connected;
  private boolean closed;
  private boolean peersTold;
  // Shared-memory rounds: pieces done so far; the cursor (buffer, element) in the round.
  private long sharedPieces;
  private int cursorBuffer;
  private long cursorElement;

  private volatile long rejectedFrames;
  private volatile long deferredFrames;
  private volatile long foreignFrames;
  private volatile long backPressureWaits;

  /**
   * A member with the tuned channels of {@link DataChannels#tuned} and the default stall timeout.
   *
   * @param aeron the client, owned by the caller (not closed by {@link #close})
   * @param dataEndpoints one entry per rank of this group (its size is the group size): each
   *     member's {@code host:port} for UDP, unused for IPC
   * @param idle how to wait; {@code null} for {@link #defaultIdleStrategy(TransportKind)}
   */
  public AeronCollective(
      final Aeron aeron,
      final TransportKind kind,
      final List<String> dataEndpoints,
      final int groupId,
      final int rank,
      final long runKey,
      final IdleStrategy idle,
      final Duration connectTimeout) {
    this(
        aeron,
        DataChannels.tuned(kind, dataEndpoints),
        groupId,
        rank,
        runKey,
        idle,
        connectTimeout,
        DEFAULT_STALL_TIMEOUT);
  }

  /**
   * Adds this member's inbox and its publications to every peer; does not wait for them ({@link
   * #connect} does, and so does the first collective).
   *
   * @param channels the group's channels; its size is the group size
   * @param groupId this group's id: separates the streams of groups that share endpoints
   * @param runKey identifies the run; frames with another key are counted and dropped
   * @param idle how to wait; {@code null} for {@link #defaultIdleStrategy(TransportKind)}; used by
   *     this member only (an idle strategy has state)
   * @param connectTimeout how long {@link #connect} waits for every peer
   * @param stallTimeout how long any call may go without progress before it fails
   */
  public AeronCollective(
      final Aeron aeron,
      final DataChannels channels,
      final int groupId,
      final int rank,
      final long runKey,
      final IdleStrategy idle,
      final Duration connectTimeout,
      final Duration stallTimeout) {
    Objects.requireNonNull(aeron, "aeron");
    this.channels = Objects.requireNonNull(channels, "channels");
    this.size = channels.size();
    this.rank = Objects.checkIndex(rank, size);
    this.groupId = groupId;
    this.runKey = runKey;
    this.idle = idle == null ? defaultIdleStrategy(channels.kind()) : idle;
    this.connectTimeoutNs = positiveNanos(connectTimeout, "connectTimeout");
    this.stallTimeoutNs = positiveNanos(stallTimeout, "stallTimeout");
    channels.streamId(groupId, rank); // validates the group id

    final MessageHeaderEncoder messageHeader = new MessageHeaderEncoder();
    frameEncoder.wrapAndApplyHeader(headerBuffer, 0, messageHeader).runKey(runKey);

    this.outbox = new ExclusivePublication[size];
    this.peers = new Peer[size];
    Subscription sub = null;
    SharedSlots shm = null;
    try {
      sub =
          aeron.addSubscription(
              channels.subscriptionChannel(rank), channels.streamId(groupId, rank));
      for (int q = 0; q < size; q++) {
        if (q != rank) {
          outbox[q] =
              aeron.addExclusivePublication(
                  channels.publicationChannel(rank, q), channels.streamId(groupId, q));
        }
      }
      if (channels.sharedMemoryMinBytes() != DataChannels.SHARED_MEMORY_OFF && size > 1) {
        final int[] termIds = new int[size];
        for (int q = 0; q < size; q++) {
          termIds[q] = q == rank ? 0 : outbox[q].initialTermId();
        }
        shm =
            new SharedSlots(
                Path.of(aeron.context().aeronDirectoryName()),
                runKey,
                groupId,
                rank,
                size,
                channels.sharedPieceBytes(),
                termIds);
      }
    } catch (RuntimeException | Error e) {
      CloseHelper.closeAll(outbox);
      CloseHelper.quietClose(sub);
      throw e;
    }
    this.inbox = sub;
    this.shared = shm;
  }

  /**
   * How a member waits by default. Both end in parks of 1 µs doubling to 1 ms, so a member that
   * waits for a slow peer stops using its core.
   *
   * <p>IPC: spin ~0.5 ms (20,000 {@code Thread.onSpinWait}, ~27 ns each here), 50 yields, then
   * park. Within a round the gaps between a peer's messages reach ~100 µs at 1 MiB, and a park
   * costs far more than it says (parkNanos(1 µs) sleeps ~80 µs here), so a short spin turns every
   * gap into a park, and a parked member makes its peer wait past its spin and park too. 2 members,
   * median of a 1 MiB all-reduce: 2,000 spins 396-427 µs, 20,000 spins 100-156 µs; Agrona's default
   * (10 spins, 5 yields) 223 µs, and 15-27 µs at 4 KiB where the others take 1-5 µs.
   *
   * <p>UDP: the driver's sender and receiver threads carry every byte, so a member must give its
   * core away at once where cores are few: Agrona's default (10 spins, 5 yields). With the IPC
   * strategy on 2 cores a 4 KiB all-reduce took 2.3 ms (the driver starved); with this one 38-66
   * µs.
   *
   * <p>Where members outnumber cores (3 members on 2 cores) spinning only delays the peer that
   * holds the other core: pass a yielding strategy, e.g. {@code new BackoffIdleStrategy(100, 1000,
   * 1_000, 1_000_000)} (IPC, 3 members: 4 KiB 37 µs against 1 ms with the default).
   */
  public static IdleStrategy defaultIdleStrategy(final TransportKind kind) {
    return kind == TransportKind.IPC
        ? new BackoffIdleStrategy(20_000, 50, 1_000, 1_000_000)
        : new BackoffIdleStrategy(10, 5, 1_000, 1_000_000);
  }

  private static long positiveNanos(final Duration d, final String name) {
    Objects.requireNonNull(d, name);
    if (d.isNegative() || d.isZero()) {
      throw new IllegalArgumentException(name + " must be positive, got " + d);
    }
    return d.toNanos();
  }

  /**
   * Waits until this member's publication to every peer is connected and every peer's publication
   * to this member's inbox is visible. Idempotent; the first collective calls it.
   *
   * @throws IllegalStateException naming the first rank (and endpoint) that did not connect within
   *     the connect timeout
   * @throws CollectiveAbortedException if aborted while waiting
   */
  public void connect() {
    checkUsable();
    if (connected) {
      return;
    }
    final long deadline = System.nanoTime() + connectTimeoutNs;
    idle.reset();
    while (true) {
      int missing = -1;
      boolean outbound = false;
      for (int q = 0; q < size && missing < 0; q++) {
        if (q != rank && !outbox[q].isConnected()) {
          missing = q;
          outbound = true;
        } else if (q != rank && inbox.imageBySessionId(channels.sessionId(q)) == null) {
          missing = q;
        }
      }
      if (missing < 0) {
        break;
      }
      final int m = missing;
      final boolean out = outbound;
      awaitConnectTurn(
          deadline,
          () ->
              (out
                      ? "its publication to " + channels.describe(m) + " is not connected"
                      : "no publication from " + channels.describe(m) + " reached its inbox")
                  + " after "
                  + Duration.ofNanos(connectTimeoutNs)
                  + " (stream "
                  + channels.streamId(groupId, m)
                  + "); is that member running, with the same group size, group id and"
                  + " transport?");
    }
    for (int q = 0; q < size; q++) {
      if (q != rank) {
        peers[q] = new Peer(q, inbox.imageBySessionId(channels.sessionId(q)));
      }
    }
    if (shared != null) {
      mapSharedSlots(deadline);
    }
    connected = true;
  }

  /**
   * Maps every peer's shared-memory file, written by the publication whose image this member
   * receives (so never a stale file of an earlier incarnation of the group).
   */
  private void mapSharedSlots(final long deadline) {
    idle.reset();
    for (int q = 0; q < size; q++) {
      final int peer = q;
      while (q != rank && !shared.mapPeer(q, peers[q].image.initialTermId())) {
        awaitConnectTurn(
            deadline,
            () ->
                "no shared-memory file from "
                    + channels.describe(peer)
                    + " at "
                    + shared.path(peer)
                    + " after "
                    + Duration.ofNanos(connectTimeoutNs)
                    + "; do all members use the same media driver (Aeron directory), and the"
                    + " same "
                    + DataChannels.SHARED_MEMORY_ENV
                    + "?");
      }
    }
  }

  /**
   * One turn of a wait in {@link #connect}: fails on an interrupt (the flag stays set for the
   * caller), an abort, or past the deadline, naming the group, this member and {@code missing}
   * (what has not come, and the likely cause); otherwise idles once.
   */
  private void awaitConnectTurn(final long deadline, final Supplier<String> missing) {
    if (Thread.currentThread().isInterrupted()) {
      abort(new InterruptedException(channels.describe(rank) + ": interrupted in connect"));
    }
    if (abortCause.get() != null) {
      throw aborted();
    }
    if (System.nanoTime() - deadline > 0) {
      throw new IllegalStateException(
          "group " + groupId + ", " + channels.describe(rank) + ": " + missing.get());
    }
    idle.idle();
  }

  /** This member's shared-memory file, or null when the shared-memory path is off. */
  Path sharedFile() {
    return shared == null ? null : shared.path(rank);
  }

  @Override
  public int rank() {
    return rank;
  }

  @Override
  public int size() {
    return size;
  }

  /** The group's channels. */
  public DataChannels channels() {
    return channels;
  }

  /** Collectives started so far, i.e. the round number of the last one. */
  public long round() {
    return round;
  }

  /** Frames rejected because their run key (or schema) was not this run's; never applied. */
  public long rejectedFrames() {
    return rejectedFrames;
  }

  /** Frames of a later round that a fast peer sent early, left in the log until their round. */
  public long deferredFrames() {
    return deferredFrames;
  }

  /** Frames with this run's key from a publication that is not a member's; never applied. */
  public long foreignFrames() {
    return foreignFrames;
  }

  /**
   * Messages whose offer had to wait for the receiver (back pressure): a sign of a small window.
   */
  public long backPressureWaits() {
    return backPressureWaits;
  }

  /** Whether {@link #abort} was called or a call failed (every later call throws). */
  public boolean isAborted() {
    return abortCause.get() != null;
  }

  /**
   * Fails the call in flight and every later call with {@link CollectiveAbortedException} carrying
   * {@code cause} (the first cause wins). Any thread; returns at once. The peers are not told: the
   * coordinator aborts them too, or they fail at their stall timeout.
   */
  public void abort(final Throwable cause) {
    abortCause.compareAndSet(null, Objects.requireNonNull(cause, "cause"));
  }

  /**
   * {@inheritDoc}
   *
   * <p>Buffers: 1-D, contiguous, {@code FLOAT} or {@code DOUBLE}, at most 65535 per round, the same
   * lengths and types in the same order on every member; overwritten in place.
   *
   * @throws IllegalArgumentException at once, before anything is sent, for a buffer this member
   *     cannot reduce; during the round, on a member that receives frames that do not match its
   *     buffers (that member is then aborted)
   */
  @Override
  public void allReduceSum(final INDArray... buffers) {
    checkUsable();
    reduce(prepare(buffers), buffers);
  }

  /**
   * {@inheritDoc}
   *
   * <p>The range is sent and received as a buffer of its own (frames count elements from {@code
   * from}); only the chunk boundaries come from the whole buffer. Members that pass ranges of the
   * same length but at different places are not detected: the callers' bucket plans agree by
   * construction.
   */
  @Override
  public void allReduceSumRange(final INDArray buffer, final long from, final long to) {
    checkUsable();
    Objects.requireNonNull(buffer, "buffer");
    Chunks.checkRange(buffer.length(), from, to);
    single[0] = buffer; // not prepare(buffer): varargs would allocate an array per call
    try {
      prepare(single);
      final int es = elementSize(0);
      if (to > from) {
        address[0] += from * es;
      }
      origin[0] = from;
      length[0] = to - from;
      reduce((to - from) * es, single);
    } finally {
      single[0] = null;
    }
  }

  private void reduce(final long totalBytes, final INDArray[] buffers) {
    connect();
    round++;
    if (size == 1 || bufferCount == 0) {
      return;
    }
    try {
      startCall();
      if (shared != null && totalBytes > channels.sharedMemoryMinBytes()) {
        sharedAllReduce();
      } else if (totalBytes <= SMALL_ROUND_BYTES) {
        directAllReduce();
      } else {
        ringAllReduce();
      }
      for (final INDArray b : buffers) {
        HostMemory.written(b);
      }
    } catch (RuntimeException | Error e) {
      throw fail(e);
    }
  }

  /**
   * {@inheritDoc}
   *
   * <p>The root's buffer is read, every other member's overwritten; the root returns once its data
   * is in the logs, the others once it arrived.
   */
  @Override
  public void broadcast(final INDArray buffer, final int root) {
    checkUsable();
    Objects.checkIndex(root, size);
    single[0] = buffer; // not prepare(buffer): varargs would allocate an array per call
    try {
      prepare(single);
    } finally {
      single[0] = null;
    }
    connect();
    round++;
    if (size == 1) {
      return;
    }
    try {
      startCall();
      if (rank == root) {
        setPlans(PLAN_NONE);
        for (int k = 1; k < size; k++) {
          sendRange((rank + k) % size, PHASE_BROADCAST, 0, 0, length[0]);
        }
      } else {
        setPlans(PLAN_NONE);
        setPlan(peers[root], PLAN_BROADCAST);
        awaitPeers();
        HostMemory.written(buffer);
      }
    } catch (RuntimeException | Error e) {
      throw fail(e);
    }
  }

  @Override
  public void barrier() {
    checkUsable();
    connect();
    round++;
    if (size == 1) {
      return;
    }
    try {
      startCall();
      bufferCount = 0;
      setPlans(PLAN_BARRIER);
      frameEncoder.round(round).phase(PHASE_BARRIER).bufferIndex(0).elementOffset(0).count(0);
      for (int k = 1; k < size; k++) {
        final int q = (rank + k) % size;
        offer(q, 0);
      }
      awaitPeers();
    } catch (RuntimeException | Error e) {
      throw fail(e);
    }
  }

  /**
   * Closes this member's publications and inbox (not the Aeron client, which the caller owns).
   * Owner thread only, never while a call is in flight (abort it first and let it return); every
   * later call throws. Idempotent.
   */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    abortCause.compareAndSet(null, new IllegalStateException(channels.describe(rank) + " closed"));
    CloseHelper.closeAll(outbox);
    CloseHelper.quietClose(inbox);
    CloseHelper.quietClose(shared);
    for (final Peer p : peers) {
      if (p != null) {
        p.freeScratch();
      }
    }
  }

  private void startCall() {
    lastProgressNs = System.nanoTime();
    progressed = false;
    idle.reset();
  }

  // ---------------------------------------------------------------------------------------------
  // Ring all-reduce
  // ---------------------------------------------------------------------------------------------

  /*
   * Step s = 0 .. 2N-3 (reduce-scatter for s < N-1, then all-gather): rank r sends chunk
   * X(s) = (r - s) mod N to r+1 and receives chunk Y(s) = (r - s - 1) mod N from r-1 (adding for
   * s < N-1, copying after). X(s+1) = Y(s): a step sends what the previous one received. Pipelined
   * by message: each message of step s (elements E of a buffer) is offered as soon as the message
   * of step s-1 that ends at or after E's end has been applied (sendRange / awaitReceived), not once
   * all of step s-1 has: the forward reads what the add just wrote while it is still in cache, and
   * the next step starts while the previous one is still arriving. Chunk boundaries and message
   * lengths are the same on every member, so E is exactly what the predecessor's message covered.
   *
   * Fragments of a later step t > s from r-1 are applied as soon as they arrive, possibly while
   * step s is still being offered. They never touch elements that are yet to be sent:
   *  - Y(t) = X(s) (mod N) only for t = s + N - 1 (t - s < N for t <= 2N-3, s >= 0).
   *  - For r-1 to send elements E at step t at all, it must have applied E of step t-1 from r-2,
   *    which needed E of step t-2 from r-3, ..., back to E of step t-(N-1) = s from r itself,
   *    complete. So a fragment of step s+N-1 covering E exists only after r has offered E at step
   *    s; every other t >= s targets another chunk. (N = 2: Y(s+1) = X(s) is exactly this case:
   *    r-1 copies back elements r sent at step 0 only after receiving them, and r has finished
   *    offering them by then.)
   * And an early fragment finds its elements in the state it needs: an add at step t < N-1 needs
   * this member's own values in Y(t), which no earlier step wrote (Y(t') = Y(t) only for
   * t' = t - N < 0); a copy at t >= N-1 overwrites E of Y(t) after the add of step t-N and the send
   * of step t-N+1 into which E was consumed, both complete by the same chain argument.
   * Fragments of the next round stay in the log (ABORT) until this member starts that round.
   */
  private void ringAllReduce() {
    final Peer predecessor = peers[(rank - 1 + size) % size];
    final int successor = (rank + 1) % size;
    setPlans(PLAN_NONE);
    setPlan(predecessor, PLAN_RING);
    final int steps = 2 * size - 2;
    for (int s = 0; s < steps; s++) {
      final int chunk = Math.floorMod(rank - s, size);
      for (int i = 0; i < bufferCount; i++) {
        sendRange(
            successor,
            s,
            i,
            chunkStart(i, chunk),
            chunkStart(i, chunk + 1),
            s > 0 ? predecessor : null);
      }
    }
    awaitPeers();
  }

  // ---------------------------------------------------------------------------------------------
  // Shared memory (IPC)
  // ---------------------------------------------------------------------------------------------

  /*
   * The round's buffers, in order, are cut into pieces of at most sharedPieceBytes (a piece may
   * span buffers; each buffer's part starts 8-aligned in the slot); every member cuts the same way,
   * and element e of a piece sits at the same offset in every member's slot. Piece k (counted since
   * the member was created, across rounds) uses part k % 3 of each slot, in three steps:
   *  1. COPY_IN: copy this member's values of the other members' chunks into its slot; publish
   *     written = 2k+1.
   *  2. REDUCE (once every peer's written >= 2k+1): compute this member's own chunk r (of the whole
   *     buffer, Chunks) into the tensor, ((b_r + b_(r+1)) + ...) + b_(r-1), b_r from the tensor
   *     and the rest from the peers' slots, and mirror the result into its own slot at the same
   *     offsets (free: step 1 skipped them); publish written = 2k+2.
   *  3. COPY_OUT (once every peer's written >= 2k+2): copy every other chunk c's result from
   *     member c's slot into the tensor.
   * Each chunk is summed once, by its owner, in the fixed order: the same bits as the ring and
   * InProcessGroup. Per member that moves 4 bytes of memory per byte of the piece (N = 2) where
   * "every member computes everything" moves 5, and adds half as much.
   *
   * Pipelined: step 1 of piece k+1 runs before step 3 of piece k, so one wait (written >= 2k+3,
   * which a peer publishes after its 2k+2) serves step 3 of piece k and step 2 of piece k+1: one
   * wait per piece, and a member fills the next piece while a slower peer still reduces.
   *
   * Why three parts and no "done reading" counter: a member overwrites part (k+1) % 3 (piece
   * k-2's) in step 1 of piece k+1 after it saw every peer's written >= 2k+1 (or 2k+2 at the end
   * of a round); each peer publishes 2k+1 only after it finished step 3 of piece k-2, its last
   * read of that part (one loop, in order; release/acquire). So nobody still reads it.
   */
  private void sharedAllReduce() {
    // No peer sends frames this round; frames of it mean a peer took the Aeron path: mismatch.
    setPlans(PLAN_NONE);
    final long signature = roundSignature();
    cursorBuffer = 0;
    cursorElement = 0;
    if (!skipEmpty()) {
      return;
    }
    long k = sharedPieces;
    int pieceBuffer = cursorBuffer;
    long pieceElement = cursorElement;
    walkPiece(k, COPY_IN, pieceBuffer, pieceElement);
    shared.publish(part(k), round, signature, 2 * k + 1);
    awaitWritten(2 * k + 1);
    checkSharedPiece(part(k), signature);
    while (true) {
      walkPiece(k, REDUCE, pieceBuffer, pieceElement);
      shared.publish(part(k), round, signature, 2 * k + 2);
      final boolean more = skipEmpty();
      final int nextBuffer = cursorBuffer;
      final long nextElement = cursorElement;
      if (more) {
        walkPiece(k + 1, COPY_IN, nextBuffer, nextElement);
        shared.publish(part(k + 1), round, signature, 2 * k + 3);
        awaitWritten(2 * k + 3);
        checkSharedPiece(part(k + 1), signature);
      } else {
        awaitWritten(2 * k + 2);
      }
      walkPiece(k, COPY_OUT, pieceBuffer, pieceElement);
      if (!more) {
        sharedPieces = k + 1;
        return;
      }
      k++;
      pieceBuffer = nextBuffer;
      pieceElement = nextElement;
    }
  }

  private static int part(final long piece) {
    return (int) (piece % 3);
  }

  /** Moves the cursor past finished and empty buffers; false at the end of the round. */
  private boolean skipEmpty() {
    while (cursorBuffer < bufferCount && cursorElement >= length[cursorBuffer]) {
      cursorBuffer++;
      cursorElement = 0;
    }
    return cursorBuffer < bufferCount;
  }

  private static final int COPY_IN = 0;
  private static final int REDUCE = 1;
  private static final int COPY_OUT = 2;

  /**
   * One step ({@link #COPY_IN}, {@link #REDUCE}, {@link #COPY_OUT}) of piece k, which starts at
   * element {@code first} of buffer {@code firstBuffer}. Leaves the cursor after the piece.
   */
  private void walkPiece(final long k, final int step, final int firstBuffer, final long first) {
    final int pieceBytes = shared.pieceBytes();
    final int h = part(k);
    int i = firstBuffer;
    long next = first;
    long used = 0;
    while (i < bufferCount) {
      if (next >= length[i]) {
        i++;
        next = 0;
        continue;
      }
      final int es = elementSize(i);
      final long n = Math.min(length[i] - next, (pieceBytes - used) / es);
      if (n == 0) {
        break;
      }
      for (int c = 0; c < size; c++) {
        final long lo = Math.max(next, chunkStart(i, c));
        final long hi = Math.min(next + n, chunkStart(i, c + 1));
        if (lo < hi && (c == rank) == (step == REDUCE)) {
          final long tensor = address[i] + lo * es;
          final long at = used + (lo - next) * es;
          final int m = (int) (hi - lo);
          switch (step) {
            case COPY_IN -> UnsafeApi.copyMemory(tensor, shared.slot(rank, h) + at, (long) m * es);
            case REDUCE -> reduceOwnChunk(h, i, tensor, at, m);
            default -> UnsafeApi.copyMemory(shared.slot(c, h) + at, tensor, (long) m * es);
          }
        }
      }
      used = (used + n * es + 7) & ~7L;
      next += n;
    }
    cursorBuffer = i;
    cursorElement = next;
  }

  /**
   * m elements of this member's chunk of buffer i at {@code tensor}, at offset {@code at} of every
   * slot's part h: the sum in the fixed order into the tensor and this member's slot.
   */
  private void reduceOwnChunk(
      final int h, final int i, final long tensor, final long at, final int m) {
    final boolean dbl = isDouble[i];
    final long own = shared.slot(rank, h) + at;
    // b_r + b_(r+1) (N = 2: the whole sum, written to both places in one pass)
    final long second = shared.slot((rank + 1) % size, h) + at;
    final long mirror = size == 2 ? own : 0;
    if (dbl) {
      adder.sumDoubles(tensor, second, tensor, mirror, m);
    } else {
      adder.sumFloats(tensor, second, tensor, mirror, m);
    }
    if (size > 2) {
      for (int k = 2; k < size; k++) {
        final long term = shared.slot((rank + k) % size, h) + at;
        if (dbl) {
          adder.addDoubles(null, term, tensor, m);
        } else {
          adder.addFloats(null, term, tensor, m);
        }
      }
      UnsafeApi.copyMemory(tensor, own, (long) m * elementSize(i));
    }
  }

  /**
   * What every member's round must agree on: types, lengths and ranges of its buffers (what the
   * frames' checks give the Aeron path).
   */
  private long roundSignature() {
    long sig = bufferCount;
    for (int i = 0; i < bufferCount; i++) {
      sig = 31 * sig + (isDouble[i] ? 8 : 4);
      sig = 31 * sig + length[i];
      sig = 31 * sig + origin[i];
      sig = 31 * sig + whole[i];
    }
    return sig;
  }

  private void checkSharedPiece(final int h, final long signature) {
    for (int q = 0; q < size; q++) {
      if (q != rank && (shared.round(q, h) != round || shared.signature(q, h) != signature)) {
        throw new IllegalArgumentException(
            "members disagree on the collective: in round "
                + round
                + " (shared memory), "
                + channels.describe(q)
                + " wrote a piece of its round "
                + shared.round(q, h)
                + (shared.round(q, h) == round
                    ? " for buffers of other types, lengths or ranges"
                    : "")
                + " where "
                + channels.describe(rank)
                + " expects one of round "
                + round
                + "; every member must make the same calls with buffers of the same lengths and"
                + " types");
      }
    }
  }

  /**
   * Waits until every peer has written {@code target} pieces, polling the inbox (abort frames; a
   * peer that took the Aeron path this round fails as a mismatch) and honouring abort and the stall
   * timeout like every other wait.
   */
  private void awaitWritten(final long target) {
    int lagging = laggingPeer(target);
    if (lagging < 0) {
      return;
    }
    while (true) {
      final int work = poll();
      if (work > 0 && abortCause.get() != null) {
        throw aborted();
      }
      lagging = laggingPeer(target);
      if (lagging < 0) {
        progressed = true;
        idle.reset();
        return;
      }
      if (work == 0) {
        checkWaiting(lagging);
      }
      idle.idle(work);
    }
  }

  private int laggingPeer(final long target) {
    for (int q = 0; q < size; q++) {
      if (q != rank && shared.written(q) < target) {
        return q;
      }
    }
    return -1;
  }

  // ---------------------------------------------------------------------------------------------
  // Direct exchange
  // ---------------------------------------------------------------------------------------------

  private void directAllReduce() {
    long scratchBytes = 0;
    for (int i = 0; i < bufferCount; i++) {
      scratchOffset[i] = scratchBytes;
      scratchBytes += (length[i] * elementSize(i) + 7) & ~7L;
    }
    for (final Peer p : peers) {
      if (p != null) {
        // Enough for any round up to the threshold whose padding fits in 1 KiB: allocated once.
        p.ensureScratch(Math.max(scratchBytes, SMALL_ROUND_BYTES + 1024));
      }
    }
    setPlans(PLAN_DIRECT);
    for (int k = 1; k < size; k++) {
      final int q = (rank + k) % size;
      for (int i = 0; i < bufferCount; i++) {
        sendRange(q, PHASE_DIRECT, i, 0, length[i]);
      }
    }
    awaitPeers();
    // Every chunk in the fixed order, from our buffer and the peers' copies. Our own buffer is
    // written only once a chunk is complete (chunk r accumulates in place: b_r is its first term).
    for (int i = 0; i < bufferCount; i++) {
      final int es = elementSize(i);
      for (int c = 0; c < size; c++) {
        final long lo = chunkStart(i, c);
        final int n = (int) (chunkStart(i, c + 1) - lo);
        if (n == 0) {
          continue;
        }
        final long own = address[i] + lo * es;
        final long acc = c == rank ? own : peers[c].scratchAddress + scratchOffset[i] + lo * es;
        for (int k = 1; k < size; k++) {
          final int q = (c + k) % size;
          final long term = q == rank ? own : peers[q].scratchAddress + scratchOffset[i] + lo * es;
          if (isDouble[i]) {
            adder.addDoubles(null, term, acc, n);
          } else {
            adder.addFloats(null, term, acc, n);
          }
        }
        if (acc != own) {
          UnsafeApi.copyMemory(acc, own, (long) n * es);
        }
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Sending
  // ---------------------------------------------------------------------------------------------

  /** Offers elements [lo, hi) of buffer i to rank q, in messages, straight from tensor memory. */
  private void sendRange(final int q, final int phase, final int i, final long lo, final long hi) {
    sendRange(q, phase, i, lo, hi, null);
  }

  /**
   * As {@link #sendRange(int, int, int, long, long)}; with {@code from} non-null (the ring), each
   * message waits until {@code from}'s step {@code phase - 1} has been applied through its last
   * element.
   */
  private void sendRange(
      final int q, final int phase, final int i, final long lo, final long hi, final Peer from) {
    final int es = elementSize(i);
    final int maxElements =
        (Math.min(outbox[q].maxMessageLength(), MAX_MESSAGE_BYTES) - FRAME_HEADER_LENGTH) / es;
    frameEncoder.round(round).phase(phase).bufferIndex(i);
    for (long first = lo; first < hi; ) {
      final int count = (int) Math.min(maxElements, hi - first);
      final int bytes = count * es;
      if (from != null) {
        awaitReceived(from, phase - 1, i, first + count);
      }
      frameEncoder.elementOffset(first).count(count);
      payload.wrap(address[i] + first * es, bytes);
      offer(q, bytes);
      first += count;
    }
  }

  /**
   * Offers the header in {@link #headerBuffer} plus {@code bytes} of {@link #payload} to rank q,
   * polling the inbox while back pressured (a peer blocked offering to us needs us to consume).
   */
  private void offer(final int q, final int bytes) {
    final ExclusivePublication pub = outbox[q];
    long notConnectedSince = 0; // 0: connected at the last attempt
    boolean waited = false;
    int yields = 0;
    while (true) {
      final long result =
          bytes == 0
              ? pub.offer(headerBuffer, 0, FRAME_HEADER_LENGTH)
              : pub.offer(headerBuffer, 0, FRAME_HEADER_LENGTH, payload, 0, bytes);
      if (result > 0) {
        progressed = true;
        poll();
        return;
      }
      if (result == Publication.BACK_PRESSURED || result == Publication.ADMIN_ACTION) {
        if (!waited) {
          waited = true;
          backPressureWaits++; // single writer: this member's thread
        }
        notConnectedSince = 0;
      } else if (result == Publication.NOT_CONNECTED) {
        final long now = System.nanoTime();
        if (notConnectedSince == 0) {
          notConnectedSince = now;
        } else if (now - notConnectedSince > connectTimeoutNs) {
          throw new CollectiveAbortedException(
              "round "
                  + round
                  + ": "
                  + channels.describe(q)
                  + " has not been connected for "
                  + Duration.ofNanos(now - notConnectedSince)
                  + "; is it still running?",
              null);
        }
      } else if (result == Publication.CLOSED) {
        throw new CollectiveAbortedException(
            "round " + round + ": the publication to " + channels.describe(q) + " is closed", null);
      } else if (result == Publication.MAX_POSITION_EXCEEDED) {
        throw new CollectiveAbortedException(
            "round "
                + round
                + ": the publication to "
                + channels.describe(q)
                + " reached its maximum position; recreate the group",
            null);
      } else {
        throw new IllegalStateException("unexpected offer result " + result);
      }
      final int work = poll();
      if (work == 0) {
        checkWaiting(q);
        if (waited && notConnectedSince == 0 && yields < BACK_PRESSURE_YIELDS) {
          // Only the driver's conductor raises the limit: give it this core now, not after a spin.
          yields++;
          Thread.yield();
          continue;
        }
      } else if (abortCause.get() != null) {
        throw aborted();
      }
      idle.idle(work);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Receiving
  // ---------------------------------------------------------------------------------------------

  private int poll() {
    final int work = inbox.controlledPoll(handler, FRAGMENT_LIMIT);
    if (failure != null) {
      final RuntimeException f = failure;
      failure = null;
      throw f;
    }
    if (work > 0) {
      progressed = true;
    }
    return work;
  }

  /**
   * Waits until p has delivered its segment (step, buffer i) through element {@code end}: p is past
   * that step, or past that buffer in it, or its next expected element there is at least {@code
   * end} (p.next moves at the end of each applied message).
   */
  private void awaitReceived(final Peer p, final int step, final int i, final long end) {
    while (p.step < step || (p.step == step && (p.buffer < i || (p.buffer == i && p.next < end)))) {
      final int work = poll();
      if (work == 0) {
        checkWaiting(p.rank);
      } else if (abortCause.get() != null) {
        throw aborted();
      }
      idle.idle(work);
    }
  }

  private void awaitPeers() {
    while (pendingPeers > 0) {
      final int work = poll();
      if (work == 0) {
        int waitingFor = -1;
        for (int q = 0; q < size && waitingFor < 0; q++) {
          if (q != rank && !peers[q].done) {
            waitingFor = q;
          }
        }
        checkWaiting(waitingFor);
      } else if (abortCause.get() != null) {
        throw aborted();
      }
      idle.idle(work);
    }
  }

  /** In a wait loop without progress: aborted? stalled? the connection we wait on gone? */
  private void checkWaiting(final int q) {
    if (Thread.currentThread().isInterrupted()) { // the flag stays set for the caller
      abort(new InterruptedException(channels.describe(rank) + ": interrupted in round " + round));
    }
    if (abortCause.get() != null) {
      throw aborted();
    }
    if (q >= 0 && q != rank && peers[q].image.isClosed()) {
      throw new CollectiveAbortedException(
          "round "
              + round
              + ": the connection from "
              + channels.describe(q)
              + " closed (the member exited or stopped responding)",
          null);
    }
    final long now = System.nanoTime();
    if (progressed) {
      progressed = false;
      lastProgressNs = now;
    }
    final long waited = now - lastProgressNs;
    if (waited > stallTimeoutNs) {
      throw new CollectiveAbortedException(
          "round "
              + round
              + " on "
              + channels.describe(rank)
              + ": no progress for "
              + Duration.ofNanos(waited)
              + (q >= 0 ? ", waiting for " + channels.describe(q) : ""),
          new TimeoutException("stall timeout " + Duration.ofNanos(stallTimeoutNs)));
    }
  }

  private Action onFragment(
      final DirectBuffer buffer, final int offset, final int length, final Header header) {
    if (failure != null) {
      return Action.ABORT;
    }
    final Peer p = peerOf(header);
    final byte flags = header.flags();
    if ((flags & FrameDescriptor.BEGIN_FRAG_FLAG) != 0) {
      return onBegin(p, buffer, offset, length, header, flags);
    }
    if (p == null) {
      return Action.CONTINUE; // rest of a foreign message, counted at its first fragment
    }
    if (p.skipping) {
      p.skipping = (flags & FrameDescriptor.END_FRAG_FLAG) == 0;
      return Action.CONTINUE;
    }
    if (!p.inMessage) {
      return fail("a continuation fragment without a first fragment from " + describe(p));
    }
    if (!apply(p, buffer, offset, length)) {
      return Action.ABORT;
    }
    if ((flags & FrameDescriptor.END_FRAG_FLAG) != 0) {
      return endMessage(p);
    }
    return Action.CONTINUE;
  }

  private Action onBegin(
      final Peer p,
      final DirectBuffer buffer,
      final int offset,
      final int length,
      final Header header,
      final byte flags) {
    final boolean unfragmented = (flags & FrameDescriptor.END_FRAG_FLAG) != 0;
    if (length < FRAME_HEADER_LENGTH
        || headerDecoder.wrap(buffer, offset).templateId() != ReduceFrameDecoder.TEMPLATE_ID
        || headerDecoder.schemaId() != ReduceFrameDecoder.SCHEMA_ID
        || frameDecoder
                .wrap(
                    buffer,
                    offset + MessageHeaderDecoder.ENCODED_LENGTH,
                    headerDecoder.blockLength(),
                    headerDecoder.version())
                .runKey()
            != runKey) {
      rejectedFrames++; // single writer: this member's thread
      if (p != null) {
        p.skipping = !unfragmented;
      }
      return Action.CONTINUE;
    }
    if (p == null) {
      foreignFrames++;
      return Action.CONTINUE;
    }
    if (p.inMessage) {
      return fail("a new message inside another from " + describe(p));
    }
    final long frameRound = frameDecoder.round();
    if (frameDecoder.phase() == PHASE_ABORT) {
      final int bytes = Math.min(frameDecoder.count(), length - FRAME_HEADER_LENGTH);
      failure =
          new CollectiveAbortedException(
              "round "
                  + round
                  + " on "
                  + channels.describe(rank)
                  + ": a peer failed in its round "
                  + frameRound
                  + ": "
                  + buffer.getStringWithoutLengthUtf8(
                      offset + FRAME_HEADER_LENGTH, Math.max(0, bytes)),
              null);
      return Action.ABORT;
    }
    if (frameRound > round) {
      if (p.plan != PLAN_NONE && !p.done) {
        return mismatch(p, "started round " + frameRound);
      }
      if (header.position() != p.deferredPosition) {
        p.deferredPosition = header.position();
        deferredFrames++;
      }
      return Action.ABORT; // stays in the log; polled again in its round
    }
    final int phase = frameDecoder.phase();
    final int bufferIndex = frameDecoder.bufferIndex();
    final long elementOffset = frameDecoder.elementOffset();
    final int count = frameDecoder.count();
    if (frameRound < round || p.plan == PLAN_NONE || p.done) {
      return mismatch(
          p,
          "sent round "
              + frameRound
              + " phase "
              + phase
              + " buffer "
              + bufferIndex
              + " elements ["
              + elementOffset
              + ", +"
              + count
              + ")");
    }
    if (phase != p.phase
        || bufferIndex != p.buffer
        || elementOffset != p.next
        || count < 0
        || count > p.end - p.next
        || (count == 0 && p.plan != PLAN_BARRIER)) {
      return mismatch(
          p,
          "sent phase "
              + phase
              + " buffer "
              + bufferIndex
              + " elements ["
              + elementOffset
              + ", +"
              + count
              + ")");
    }
    p.inMessage = true;
    p.messageCount = count;
    p.messageRemaining = (long) count * p.elementSize;
    p.messageTarget = p.base + elementOffset * p.elementSize;
    if (!apply(p, buffer, offset + FRAME_HEADER_LENGTH, length - FRAME_HEADER_LENGTH)) {
      return Action.ABORT;
    }
    return unfragmented ? endMessage(p) : Action.CONTINUE;
  }

  /** Adds or copies one fragment's elements into the peer's current target. */
  private boolean apply(
      final Peer p, final DirectBuffer buffer, final int offset, final int bytes) {
    if (bytes > p.messageRemaining || (bytes & (p.elementSize - 1)) != 0) {
      mismatch(
          p,
          "sent "
              + bytes
              + " bytes where "
              + p.messageRemaining
              + " bytes of "
              + (p.elementSize == 8 ? "DOUBLE" : "FLOAT")
              + " remained (another data type or length?)");
      return false;
    }
    final long src = buffer.addressOffset() + offset;
    final byte[] srcArray = buffer.byteArray();
    if (!p.add) {
      UnsafeApi.copyMemory(srcArray, src, null, p.messageTarget, bytes);
    } else if (p.elementSize == 8) {
      adder.addDoubles(srcArray, src, p.messageTarget, bytes >> 3);
    } else {
      adder.addFloats(srcArray, src, p.messageTarget, bytes >> 2);
    }
    p.messageTarget += bytes;
    p.messageRemaining -= bytes;
    return true;
  }

  private Action endMessage(final Peer p) {
    if (p.messageRemaining != 0) {
      return mismatch(
          p,
          "ended a message " + p.messageRemaining + " bytes short (another data type or length?)");
    }
    p.inMessage = false;
    p.next += p.messageCount;
    if (p.next == p.end) {
      p.buffer++;
      seek(p);
    }
    return Action.CONTINUE;
  }

  private Peer peerOf(final Header header) {
    final int sessionId = header.sessionId();
    if (sessionId >= 0 && sessionId < size && sessionId != rank) {
      final Peer p = peers[sessionId];
      if (p.image == header.context()) {
        return p;
      }
    }
    return null;
  }

  // ---------------------------------------------------------------------------------------------
  // What each peer sends this round: segments (phase, buffer, [next, end)) in order
  // ---------------------------------------------------------------------------------------------

  /** Every peer gets {@code plan}; the ring and broadcast then give one peer another. */
  private void setPlans(final int plan) {
    pendingPeers = 0;
    for (final Peer p : peers) {
      if (p != null) {
        setPlan(p, plan);
      }
    }
  }

  /** After {@link #setPlans}: p had nothing (more) to send, so it is not among the pending. */
  private void setPlan(final Peer p, final int plan) {
    p.plan = plan;
    p.step = 0;
    p.buffer = 0;
    p.done = plan == PLAN_NONE;
    p.inMessage = false;
    if (plan != PLAN_NONE) {
      pendingPeers++;
      seek(p);
    }
  }

  /** Moves p to its next non-empty segment from (step, buffer) on, or marks it done. */
  private void seek(final Peer p) {
    final int steps = p.plan == PLAN_RING ? 2 * size - 2 : 1;
    final int buffers = p.plan == PLAN_BARRIER ? 1 : bufferCount;
    while (true) {
      if (p.buffer >= buffers) {
        p.step++;
        p.buffer = 0;
      }
      if (p.step >= steps) {
        p.done = true;
        p.step = Integer.MAX_VALUE;
        pendingPeers--;
        return;
      }
      final int i = p.buffer;
      switch (p.plan) {
        case PLAN_RING -> {
          final int chunk = Math.floorMod(rank - p.step - 1, size);
          p.next = chunkStart(i, chunk);
          p.end = chunkStart(i, chunk + 1);
          p.phase = p.step;
          p.add = p.step < size - 1;
          p.base = address[i];
        }
        case PLAN_DIRECT -> {
          p.next = 0;
          p.end = length[i];
          p.phase = PHASE_DIRECT;
          p.add = false;
          p.base = p.scratchAddress + scratchOffset[i];
        }
        case PLAN_BROADCAST -> {
          p.next = 0;
          p.end = length[i];
          p.phase = PHASE_BROADCAST;
          p.add = false;
          p.base = address[i];
        }
        default -> { // PLAN_BARRIER: one empty message
          p.next = 0;
          p.end = 0;
          p.phase = PHASE_BARRIER;
          p.add = false;
          p.base = 0;
          p.elementSize = 4;
          return;
        }
      }
      p.elementSize = elementSize(i);
      if (p.end > p.next) {
        return;
      }
      p.buffer++;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Validation, failure
  // ---------------------------------------------------------------------------------------------

  /** Validates the buffers and records their addresses; returns the round's bytes. */
  private long prepare(final INDArray... buffers) {
    Objects.requireNonNull(buffers, "buffers");
    if (buffers.length > 0xFFFF) {
      throw new IllegalArgumentException(
          buffers.length + " buffers in one round: at most 65535 (frames carry a uint16 index)");
    }
    if (buffers.length > address.length) {
      final int n = Math.max(buffers.length, 2 * address.length);
      address = new long[n];
      length = new long[n];
      isDouble = new boolean[n];
      scratchOffset = new long[n];
      origin = new long[n];
      whole = new long[n];
    }
    long total = 0;
    for (int i = 0; i < buffers.length; i++) {
      final INDArray b = buffers[i];
      if (b == null) {
        throw new IllegalArgumentException("buffer " + i + " is null");
      }
      final DataType type = b.dataType();
      if ((type != DataType.FLOAT && type != DataType.DOUBLE)
          || b.rank() != 1
          || (b.length() > 1 && b.stride(0) != 1)) {
        throw new IllegalArgumentException(
            "buffer "
                + i
                + ": "
                + type
                + " rank "
                + b.rank()
                + " length "
                + b.length()
                + (b.rank() == 1 ? " stride " + b.stride(0) : "")
                + "; collectives take 1-D contiguous FLOAT or DOUBLE buffers (use ravel() or a"
                + " FLOAT/DOUBLE copy)");
      }
      isDouble[i] = type == DataType.DOUBLE;
      length[i] = b.length();
      origin[i] = 0;
      whole[i] = length[i];
      if (length[i] > 0) {
        address[i] = HostMemory.address(b);
      } else {
        address[i] = 0;
      }
      total += length[i] * elementSize(i);
    }
    bufferCount = buffers.length;
    return total;
  }

  /**
   * First element of chunk {@code c} of buffer i, relative to the buffer's first element sent: the
   * whole buffer's chunk cut to the range (see {@link Collective#allReduceSumRange}).
   */
  private long chunkStart(final int i, final int c) {
    final long x = Chunks.start(whole[i], size, c) - origin[i];
    return Math.max(0, Math.min(length[i], x));
  }

  private int elementSize(final int i) {
    return isDouble[i] ? 8 : 4;
  }

  private void checkUsable() {
    if (abortCause.get() != null) {
      throw aborted();
    }
  }

  private CollectiveAbortedException aborted() {
    final Throwable cause = abortCause.get();
    return new CollectiveAbortedException(
        "collective aborted on "
            + channels.describe(rank)
            + " of group "
            + groupId
            + " in round "
            + round
            + ": "
            + cause,
        cause);
  }

  /**
   * A failed call poisons the member (its peers are mid-round, nothing can resume) and tells the
   * peers, best effort: one abort frame each, not retried, so a peer that is back pressured or gone
   * learns it from its own stall timeout or the coordinator instead.
   */
  private RuntimeException fail(final Throwable e) {
    abortCause.compareAndSet(null, e);
    final Throwable first = abortCause.get();
    tellPeers(first);
    if (shared != null) {
      shared.unlink();
    }
    if (first != e && e.getCause() != first) { // aborted meanwhile: report the first cause
      final CollectiveAbortedException aborted = aborted();
      aborted.addSuppressed(e);
      return aborted;
    }
    if (e instanceof RuntimeException r) {
      return r;
    }
    throw (Error) e;
  }

  private void tellPeers(final Throwable e) {
    if (peersTold || closed || !connected) {
      return;
    }
    peersTold = true;
    final byte[] utf8 = (channels.describe(rank) + ": " + e).getBytes(StandardCharsets.UTF_8);
    final int length = Math.min(utf8.length, MAX_REASON_BYTES);
    frameEncoder.round(round).phase(PHASE_ABORT).bufferIndex(0).elementOffset(0).count(length);
    payload.wrap(utf8, 0, length);
    for (int q = 0; q < size; q++) {
      if (q != rank) {
        outbox[q].offer(headerBuffer, 0, FRAME_HEADER_LENGTH, payload, 0, length);
      }
    }
  }

  private Action fail(final String what) {
    failure =
        new IllegalStateException(
            "round " + round + " on " + channels.describe(rank) + ": protocol error: " + what);
    return Action.ABORT;
  }

  private Action mismatch(final Peer p, final String what) {
    failure =
        new IllegalArgumentException(
            "members disagree on the collective: in round "
                + round
                + ", "
                + describe(p)
                + " "
                + what
                + " while "
                + channels.describe(rank)
                + " expects "
                + expectation(p)
                + "; every member must make the same calls with buffers of the same lengths and"
                + " types");
    return Action.ABORT;
  }

  private String expectation(final Peer p) {
    if (p.plan == PLAN_NONE || p.done) {
      return "nothing more from it this round";
    }
    return "phase "
        + p.phase
        + " buffer "
        + p.buffer
        + " ("
        + (p.elementSize == 8 ? "DOUBLE" : "FLOAT")
        + ") elements ["
        + p.next
        + ", "
        + p.end
        + ")";
  }

  private String describe(final Peer p) {
    return channels.describe(p.rank);
  }

  /** Receive state of one peer's stream (its image in this member's inbox). */
  private static final class Peer {
    final int rank;
    final Image image;
    int plan;
    boolean done;
    int step;
    int buffer;
    int phase;
    boolean add;
    int elementSize;
    long base;
    long next;
    long end;
    boolean inMessage;
    boolean skipping;
    int messageCount;
    long messageRemaining;
    long messageTarget;
    long deferredPosition = -1;
    ByteBuffer scratch;
    long scratchAddress;

    Peer(final int rank, final Image image) {
      this.rank = rank;
      this.image = image;
    }

    void ensureScratch(final long bytes) {
      if (scratch != null && scratch.capacity() >= bytes + 64) {
        return;
      }
      freeScratch();
      // Not allocateDirectAligned: that returns a slice, which cannot be freed deterministically.
      scratch = ByteBuffer.allocateDirect(Math.toIntExact(bytes + 64));
      scratchAddress = (BufferUtil.address(scratch) + 63) & ~63L;
    }

    void freeScratch() {
      if (scratch != null) {
        BufferUtil.free(scratch);
        scratch = null;
        scratchAddress = 0;
      }
    }
  }
}
