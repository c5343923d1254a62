package io.synctower.worker.remote;

import io.synctower.worker.transport.DataChannels;
import io.synctower.worker.transport.TransportKind;
import java.util.concurrent.TimeUnit;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;

/**
 * Where control messages travel. The coordinator listens on one stream; each worker on its own.
 *
 * <table>
 *   <caption>Channels</caption>
 *   <tr><th></th><th>IPC (one host, one media driver)</th><th>UDP</th></tr>
 *   <tr><td>to the coordinator</td><td>aeron:ipc, stream 10</td>
 *       <td>aeron:udp?endpoint=COORDINATOR_HOST:PORT, stream 10</td></tr>
 *   <tr><td>to worker r</td><td>aeron:ipc, stream 100 + r</td>
 *       <td>aeron:udp?endpoint=WORKER_HOST:WORKER_PORT, stream 11</td></tr>
 * </table>
 *
 * <p>A worker's UDP port carries its control stream and the collective data streams (ids from 1000,
 * see the collective's channels); control terms are small (4 MiB: messages up to 512 KiB, enough
 * for the config YAML of the Welcome) to keep the mapped log buffers small.
 */
public final class ControlChannels {
  /** Default UDP port of the coordinator. */
  public static final int COORDINATOR_PORT = 40100;

  /** Default UDP port of worker 0 on a host; local rank k uses {@code WORKER_PORT + k}. */
  public static final int WORKER_PORT = 40200;

  static final int TO_COORDINATOR_STREAM = 10;
  static final int TO_WORKER_STREAM = 11;
  static final int TO_WORKER_IPC_STREAM_BASE = 100;
  private static final String TERM = "term-length=4m";

  private ControlChannels() {}

  /**
   * How the control loops (coordinator I/O, worker endpoint) wait: a few spins and yields, then
   * parks of at most 100 us, so a reply reaches the training thread within a tenth of a millisecond
   * while an idle loop costs almost no CPU.
   */
  public static IdleStrategy idleStrategy() {
    return new BackoffIdleStrategy(
        10, 20, TimeUnit.MICROSECONDS.toNanos(1), TimeUnit.MICROSECONDS.toNanos(100));
  }

  /** The coordinator's inbox (subscription at the coordinator, publication at each worker). */
  public static String toCoordinator(final TransportKind kind, final String endpoint) {
    return kind == TransportKind.IPC
        ? "aeron:ipc?" + TERM
        : "aeron:udp?endpoint=" + endpoint + "|" + TERM;
  }

  public static int toCoordinatorStream() {
    return TO_COORDINATOR_STREAM;
  }

  /**
   * Worker {@code rank}'s inbox; {@code endpoint} is its advertised {@code host:port} (UDP). Over
   * UDP the control stream shares the worker's socket with the collective's streams, so it asks for
   * the same socket buffer and receiver window (Aeron refuses two settings for one socket).
   */
  public static String toWorker(final TransportKind kind, final String endpoint) {
    return kind == TransportKind.IPC
        ? "aeron:ipc?" + TERM
        : "aeron:udp?endpoint="
            + endpoint
            + "|"
            + TERM
            + "|so-rcvbuf="
            + DataChannels.UDP_SOCKET_BUFFER
            + "|rcv-wnd="
            + DataChannels.UDP_RECEIVER_WINDOW;
  }

  public static int toWorkerStream(final TransportKind kind, final int rank) {
    return kind == TransportKind.IPC ? TO_WORKER_IPC_STREAM_BASE + rank : TO_WORKER_STREAM;
  }
}
