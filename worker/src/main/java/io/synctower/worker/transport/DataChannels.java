package io.synctower.worker.transport;

import io.aeron.ChannelUriStringBuilder;
import java.util.List;
import java.util.Objects;

/**
 * Where the data plane of a group lives: for receiver rank {@code p} of group {@code g}, one inbox
 * (a subscription) on stream {@link #streamId(int, int) STREAM_BASE + g * 1024 + p}, and one
 * exclusive publication from every other member to it, with session id = sender rank. Several
 * groups therefore share one UDP port (one endpoint per member), and a receiver tells its senders
 * apart by session id without any handshake.
 *
 * <ul>
 *   <li>IPC: {@code aeron:ipc?mtu=..|term-length=..|session-id=<sender>}; inbox {@code aeron:ipc}.
 *   <li>UDP: {@code aeron:udp?endpoint=<endpoint of p>|mtu=..|term-length=..|session-id=<sender>};
 *       inbox {@code aeron:udp?endpoint=<endpoint of p>}.
 * </ul>
 *
 * <p>Session ids are the sender's rank, inside the driver's reserved range (default -1..1000), so
 * they never clash with the ids the driver assigns itself; a second run that uses the same driver
 * and the same stream fails loudly when it adds its publications instead of mixing into this one.
 *
 * <p>The tuned parameters are the constants below, with the measurement that chose them. Immutable;
 * the {@code with...} methods return a copy (used by tests, e.g. a tiny term to force back
 * pressure, and by tuning runs).
 */
public final class DataChannels {
  /** Stream id of group 0, rank 0; groups are 1024 streams apart. */
  public static final int STREAM_BASE = 1_000_000;

  /** Streams per group, so also the largest group: ranks are the low ten bits of a stream id. */
  public static final int STREAMS_PER_GROUP = 1024;

  /** Largest group: session ids (= sender rank) must stay inside the driver's reserved range. */
  public static final int MAX_GROUP_SIZE = 1000;

  /*
   * The tuned parameters. Measured 2026-11-23 on the 2-vCPU EPYC dev machine, 2 members as threads
   * of one JVM on one embedded driver (SHARED threading), all-reduce of one float buffer, best of
   * 2-3 runs of the median (the machine is shared and noisy: repeat before relying on a figure).
   */

  /**
   * IPC MTU: the largest Aeron allows. A fragment is the unit the receiver handles (one handler
   * call, one add loop) and IPC has no packets, so bigger fragments only cut overhead.
   */
  public static final int IPC_MTU = 65_504;

  /**
   * IPC term length, 16 MiB (three terms, 48 MiB of log per publication; the publisher may run half
   * a term ahead of its subscriber). IPC flow control goes through the driver's conductor, which
   * raises a publisher's limit when it runs; a small window makes every member wait for that thread
   * to wake. 64 MiB all-reduce busbw by term: 256 KiB 0.11 GB/s, 1 MiB 0.55-1.3, 4 MiB 2.1-3.7, 8
   * MiB 3.6, 16 MiB 4.0-4.4, 64 MiB 4.1-4.2: 16 MiB is where it levels off.
   */
  public static final int IPC_TERM_LENGTH = 16 << 20;

  /**
   * UDP MTU between hosts: 8 KiB datagrams, one jumbo frame on a 9000-byte-MTU link. On loopback
   * (64 MiB busbw, 4 MiB term, 2 MiB socket buffers and window) 1408, Aeron's default, gives 0.11
   * GB/s, 8192 0.5-0.6 and 65504 1.3-1.6: per-datagram cost dominates. On a standard 1500-byte
   * link, lower it to 1408 with {@link #withMtu} (the kernel would otherwise fragment every
   * datagram and one lost fragment drops all of it).
   */
  public static final int UDP_MTU = 8_192;

  /** UDP MTU when every endpoint is a literal loopback address: no link, nothing to fragment. */
  public static final int UDP_LOOPBACK_MTU = 65_504;

  /** UDP term length: the window below, not the term, limits UDP; 16 MiB measured no faster. */
  public static final int UDP_TERM_LENGTH = 4 << 20;

  /**
   * UDP socket buffers (SO_SNDBUF / SO_RCVBUF), within the usual 4 MiB rmem_max / wmem_max: 2.5x
   * the 64 MiB busbw of the driver's defaults on loopback (1.55 against 0.60 GB/s); 4 MiB no
   * better.
   */
  public static final int UDP_SOCKET_BUFFER = 2 << 20;

  /**
   * UDP receiver window: how far a sender may run ahead of the receiver; sized with the buffers.
   */
  public static final int UDP_RECEIVER_WINDOW = 2 << 20;

  /**
   * IPC all-reduce rounds of more than this many bytes (all buffers together) go through shared
   * memory (the members' {@code SharedSlots} files) instead of the Aeron ring. Median µs, ring /
   * shared memory, 2 processes, {@code bench allreduce}, 3 alternated runs (2026-12-06, load ~4):
   * 64 KiB 11.4 / 12.4, 128 KiB 17.2 / 19.2, 256 KiB 33.0 / 26.8, 512 KiB 61.9 / 31.9, 1 MiB 124 /
   * 73. Below the crossover a round is mostly the two waits, which the ring overlaps better.
   */
  public static final long IPC_SHARED_MEMORY_MIN_BYTES = 128 << 10;

  /**
   * Bytes of one piece (one of the three parts of a member's shared slot): 1 MiB, a core's L2 on
   * the dev machine. Median µs by piece, 2 processes, 3-5 alternated runs under load 4-7 (noisy):
   * 512 KiB 1 MiB 163, 4 MiB 637, 64 MiB 10.2 ms; 1 MiB 79-96, 513-576, 8.4-11.5 ms; 2 MiB 84-97,
   * 493-828, 12.2-13.3 ms; 4 MiB 73-117, 475-573, 16.8-33 ms.
   */
  public static final int SHARED_PIECE_BYTES = 1 << 20;

  /**
   * Environment variable that switches the IPC shared-memory path: {@code on} (the default) or
   * {@code off} (every IPC round over the Aeron log, e.g. to compare the two).
   */
  public static final String SHARED_MEMORY_ENV = "SYNCTOWER_IPC_SHM";

  /** {@link #sharedMemoryMinBytes()} when the shared-memory path is off. */
  public static final long SHARED_MEMORY_OFF = Long.MAX_VALUE;

  private final TransportKind kind;
  private final List<String> endpoints;
  private final int mtu;
  private final int termLength;
  private final int socketBufferLength;
  private final int receiverWindowLength;
  private final long sharedMemoryMinBytes;
  private final int sharedPieceBytes;

  private DataChannels(
      final TransportKind kind,
      final List<String> endpoints,
      final int mtu,
      final int termLength,
      final int socketBufferLength,
      final int receiverWindowLength,
      final long sharedMemoryMinBytes,
      final int sharedPieceBytes) {
    this.kind = Objects.requireNonNull(kind, "kind");
    this.endpoints = List.copyOf(Objects.requireNonNull(endpoints, "endpoints"));
    if (this.endpoints.isEmpty() || this.endpoints.size() > MAX_GROUP_SIZE) {
      throw new IllegalArgumentException(
          "dataEndpoints: one entry per rank of the group, 1.."
              + MAX_GROUP_SIZE
              + " entries, got "
              + this.endpoints.size());
    }
    if (kind == TransportKind.UDP) {
      for (int p = 0; p < this.endpoints.size(); p++) {
        checkEndpoint(p, this.endpoints.get(p));
      }
    }
    if (mtu % 32 != 0 || mtu < 128 || mtu > 65_504) {
      throw new IllegalArgumentException(
          "mtu "
              + mtu
              + ": must be a multiple of 32 in [128, 65504] (Aeron frames are 32-aligned)");
    }
    if (Integer.bitCount(termLength) != 1 || termLength < (64 << 10) || termLength > (1 << 30)) {
      throw new IllegalArgumentException(
          "termLength " + termLength + ": must be a power of two in [64 KiB, 1 GiB]");
    }
    if (mtu > termLength / 8) {
      throw new IllegalArgumentException(
          "mtu "
              + mtu
              + " with termLength "
              + termLength
              + ": a message may be at most termLength / 8 = "
              + termLength / 8
              + " bytes, so the mtu must not exceed it; lower the mtu or raise the term length");
    }
    if (socketBufferLength < 0 || receiverWindowLength < 0) {
      throw new IllegalArgumentException(
          "socketBufferLength "
              + socketBufferLength
              + ", receiverWindowLength "
              + receiverWindowLength
              + ": must be >= 0 (0: the driver's default)");
    }
    if (sharedMemoryMinBytes != SHARED_MEMORY_OFF && kind != TransportKind.IPC) {
      throw new IllegalArgumentException(
          "shared memory for "
              + kind
              + ": only IPC members share a host (one media driver); use SHARED_MEMORY_OFF");
    }
    if (sharedMemoryMinBytes < 0 || sharedPieceBytes < 4096 || sharedPieceBytes % 4096 != 0) {
      throw new IllegalArgumentException(
          "sharedMemoryMinBytes "
              + sharedMemoryMinBytes
              + ", sharedPieceBytes "
              + sharedPieceBytes
              + ": need minBytes >= 0 and a piece that is a positive multiple of 4096 bytes");
    }
    this.mtu = mtu;
    this.termLength = termLength;
    this.socketBufferLength = socketBufferLength;
    this.receiverWindowLength = receiverWindowLength;
    this.sharedMemoryMinBytes = sharedMemoryMinBytes;
    this.sharedPieceBytes = sharedPieceBytes;
  }

  /**
   * The tuned channels of a group.
   *
   * @param endpoints one entry per rank, so its size is the group's size: {@code host:port} of each
   *     member's inbox for UDP; for IPC the entries are not used (any placeholder will do)
   */
  public static DataChannels tuned(final TransportKind kind, final List<String> endpoints) {
    if (kind == TransportKind.IPC) {
      return new DataChannels(
          kind,
          endpoints,
          IPC_MTU,
          IPC_TERM_LENGTH,
          0,
          0,
          sharedMemoryFromEnvironment(System.getenv(SHARED_MEMORY_ENV)),
          SHARED_PIECE_BYTES);
    }
    final boolean loopback = endpoints.stream().allMatch(DataChannels::isLoopback);
    return new DataChannels(
        kind,
        endpoints,
        loopback ? UDP_LOOPBACK_MTU : UDP_MTU,
        UDP_TERM_LENGTH,
        UDP_SOCKET_BUFFER,
        UDP_RECEIVER_WINDOW,
        SHARED_MEMORY_OFF,
        SHARED_PIECE_BYTES);
  }

  /** {@link #SHARED_MEMORY_ENV}'s value (null: unset) as the IPC threshold. */
  static long sharedMemoryFromEnvironment(final String value) {
    if (value == null || value.isEmpty() || value.equalsIgnoreCase("on")) {
      return IPC_SHARED_MEMORY_MIN_BYTES;
    }
    if (value.equalsIgnoreCase("off")) {
      return SHARED_MEMORY_OFF;
    }
    throw new IllegalArgumentException(
        SHARED_MEMORY_ENV + "='" + value + "': must be 'on' (the default) or 'off'");
  }

  /** Literal loopback hosts only (127.x.x.x, ::1, localhost): no name is resolved here. */
  static boolean isLoopback(final String endpoint) {
    if (endpoint == null || endpoint.lastIndexOf(':') < 0) {
      return false;
    }
    String host = endpoint.substring(0, endpoint.lastIndexOf(':'));
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    return host.equals("localhost") || host.startsWith("127.") || host.equals("::1");
  }

  /** A copy with another term length (a power of two, 64 KiB .. 1 GiB). */
  public DataChannels withTermLength(final int termLength) {
    return new DataChannels(
        kind,
        endpoints,
        mtu,
        termLength,
        socketBufferLength,
        receiverWindowLength,
        sharedMemoryMinBytes,
        sharedPieceBytes);
  }

  /** A copy with another MTU (a multiple of 32, 128 .. 65504). */
  public DataChannels withMtu(final int mtu) {
    return new DataChannels(
        kind,
        endpoints,
        mtu,
        termLength,
        socketBufferLength,
        receiverWindowLength,
        sharedMemoryMinBytes,
        sharedPieceBytes);
  }

  /** A copy with other UDP socket buffer and receiver window lengths (0: driver default). */
  public DataChannels withUdpWindow(final int socketBufferLength, final int receiverWindowLength) {
    return new DataChannels(
        kind,
        endpoints,
        mtu,
        termLength,
        socketBufferLength,
        receiverWindowLength,
        sharedMemoryMinBytes,
        sharedPieceBytes);
  }

  /**
   * A copy whose all-reduce rounds of more than {@code minBytes} go through shared memory in pieces
   * of {@code pieceBytes} (IPC only; {@link #SHARED_MEMORY_OFF}: never).
   */
  public DataChannels withSharedMemory(final long minBytes, final int pieceBytes) {
    return new DataChannels(
        kind,
        endpoints,
        mtu,
        termLength,
        socketBufferLength,
        receiverWindowLength,
        minBytes,
        pieceBytes);
  }

  /** Rounds above this many bytes use shared memory; {@link #SHARED_MEMORY_OFF} if never. */
  public long sharedMemoryMinBytes() {
    return sharedMemoryMinBytes;
  }

  /** Bytes of one piece: each of the three parts of a member's shared slot. */
  public int sharedPieceBytes() {
    return sharedPieceBytes;
  }

  public TransportKind kind() {
    return kind;
  }

  /** Members of the group. */
  public int size() {
    return endpoints.size();
  }

  public int mtu() {
    return mtu;
  }

  public int termLength() {
    return termLength;
  }

  /** The UDP endpoint ({@code host:port}) of {@code rank}'s inbox; the placeholder for IPC. */
  public String endpoint(final int rank) {
    return endpoints.get(rank);
  }

  /** The inbox stream of {@code receiver} in group {@code groupId}. */
  public int streamId(final int groupId, final int receiver) {
    Objects.checkIndex(receiver, size());
    if (groupId < 0 || groupId > (Integer.MAX_VALUE - STREAM_BASE) / STREAMS_PER_GROUP - 1) {
      throw new IllegalArgumentException(
          "groupId "
              + groupId
              + ": must be in [0, "
              + maxGroupId()
              + "] to give a valid stream id");
    }
    return STREAM_BASE + groupId * STREAMS_PER_GROUP + receiver;
  }

  private static int maxGroupId() {
    return (Integer.MAX_VALUE - STREAM_BASE) / STREAMS_PER_GROUP - 1;
  }

  /** The session id of every publication {@code sender} owns (one per receiver). */
  public int sessionId(final int sender) {
    return Objects.checkIndex(sender, size());
  }

  /** The channel {@code sender} publishes on to reach {@code receiver}'s inbox. */
  public String publicationChannel(final int sender, final int receiver) {
    final ChannelUriStringBuilder b =
        new ChannelUriStringBuilder().mtu(mtu).termLength(termLength).sessionId(sessionId(sender));
    if (kind == TransportKind.IPC) {
      return b.media("ipc").build();
    }
    b.media("udp").endpoint(endpoints.get(receiver));
    if (socketBufferLength > 0) {
      b.socketSndbufLength(socketBufferLength);
    }
    return b.build();
  }

  /** The channel of {@code receiver}'s inbox. */
  public String subscriptionChannel(final int receiver) {
    if (kind == TransportKind.IPC) {
      return "aeron:ipc";
    }
    final ChannelUriStringBuilder b =
        new ChannelUriStringBuilder().media("udp").endpoint(endpoints.get(receiver));
    if (socketBufferLength > 0) {
      b.socketRcvbufLength(socketBufferLength);
    }
    if (receiverWindowLength > 0) {
      b.receiverWindowLength(receiverWindowLength);
    }
    return b.build();
  }

  /** For error messages: {@code "rank 2 (udp 10.0.0.3:40125)"} or {@code "rank 2 (ipc)"}. */
  public String describe(final int rank) {
    return kind == TransportKind.IPC
        ? "rank " + rank + " (ipc)"
        : "rank " + rank + " (udp " + endpoints.get(rank) + ")";
  }

  @Override
  public String toString() {
    return kind
        + " mtu="
        + mtu
        + " term-length="
        + termLength
        + (kind == TransportKind.UDP
            ? " so-bufs=" + socketBufferLength + " rcv-wnd=" + receiverWindowLength
            : "")
        + (sharedMemoryMinBytes == SHARED_MEMORY_OFF
            ? ""
            : " shm-above=" + sharedMemoryMinBytes + " shm-piece=" + sharedPieceBytes)
        + " members="
        + size();
  }

  private static void checkEndpoint(final int rank, final String endpoint) {
    final int colon = endpoint == null ? -1 : endpoint.lastIndexOf(':');
    int port = -1;
    if (colon > 0) {
      try {
        port = Integer.parseInt(endpoint.substring(colon + 1));
      } catch (NumberFormatException e) {
        port = -1;
      }
    }
    if (port < 1 || port > 65_535) {
      throw new IllegalArgumentException(
          "dataEndpoints["
              + rank
              + "] = '"
              + endpoint
              + "': a UDP endpoint is host:port with a port in 1..65535, e.g. 10.0.0.3:40125");
    }
  }
}
