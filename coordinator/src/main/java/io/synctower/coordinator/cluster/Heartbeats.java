package io.synctower.coordinator.cluster;

import io.synctower.common.protocol.Heartbeat;
import io.synctower.common.protocol.Join;
import io.synctower.worker.remote.ControlChannels;
import io.synctower.worker.remote.ControlSender;
import io.synctower.worker.remote.TransportException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.agrona.concurrent.IdleStrategy;

/**
 * The coordinator's I/O thread once the towers joined: polls the control inbox, sends every tower a
 * heartbeat each {@code interval}, and declares a tower lost when nothing came from it for {@code
 * timeout} (any message counts: {@link #heard}).
 *
 * <pre>{@code
 * heartbeats.start(towers);   // after the welcome
 * ...                         // inbox messages call heartbeats.heard(rank)
 * heartbeats.close();         // stops the thread (waits up to 5 s)
 * }</pre>
 *
 * <p>Threads: {@link #heard} is called by the thread polling the inbox (this one, after {@link
 * #start}); {@link Loss} is called on this thread.
 */
final class Heartbeats implements AutoCloseable {
  /** What the I/O thread found. */
  interface Loss {
    /** Tower {@code rank} went silent; {@code reason} says for how long. */
    void lost(int rank, String reason);

    /** The control channel itself failed (e.g. a send timed out). */
    void lostContact(TransportException e);
  }

  private final long runId;
  private final ControlInbox inbox;
  private final ControlSender sender;
  private final Duration interval;
  private final Duration timeout;
  private final Loss loss;
  private final long[] lastHeard;
  private final IdleStrategy idle = ControlChannels.idleStrategy();
  private volatile boolean running = true;
  private List<JoinedTower> towers = List.of();
  private Thread thread;

  Heartbeats(
      final long runId,
      final int towers,
      final ControlInbox inbox,
      final ControlSender sender,
      final Duration interval,
      final Duration timeout,
      final Loss loss) {
    this.runId = runId;
    this.inbox = inbox;
    this.sender = sender;
    this.interval = interval;
    this.timeout = timeout;
    this.loss = loss;
    this.lastHeard = new long[towers];
  }

  /** Starts the I/O thread for {@code joined}, by rank; each counts as heard from now. */
  void start(final List<JoinedTower> joined) {
    this.towers = List.copyOf(joined);
    final long now = System.nanoTime();
    for (int r = 0; r < lastHeard.length; r++) {
      lastHeard[r] = now;
    }
    thread = new Thread(this::run, "coordinator-io");
    thread.setDaemon(true);
    thread.start();
  }

  /** Something came from tower {@code rank}. */
  void heard(final int rank) {
    lastHeard[rank] = System.nanoTime();
  }

  /** Whether the I/O thread was started. */
  boolean started() {
    return thread != null;
  }

  private void run() {
    final long beatEvery = interval.toNanos();
    final long silentFor = timeout.toNanos();
    long nextBeat = System.nanoTime();
    while (running) {
      try {
        final int work = inbox.poll();
        final long now = System.nanoTime();
        if (now - nextBeat >= 0) {
          for (final JoinedTower j : towers) {
            sender.send(
                j.publication(),
                new Heartbeat(runId, Join.COORDINATOR, System.currentTimeMillis()),
                j.name());
          }
          nextBeat = now + beatEvery;
        }
        for (int r = 0; r < lastHeard.length; r++) {
          if (now - lastHeard[r] > silentFor) {
            loss.lost(
                r,
                "no heartbeat for "
                    + TimeUnit.NANOSECONDS.toMillis(now - lastHeard[r])
                    + " ms (deadline "
                    + timeout.toMillis()
                    + " ms): the process hangs, was killed, or its host is unreachable");
          }
        }
        idle.idle(work);
      } catch (TransportException e) {
        loss.lostContact(e);
        idle.idle(0);
      }
    }
  }

  /** Stops the I/O thread, waiting up to 5 s for it. */
  @Override
  public void close() throws InterruptedException {
    running = false;
    if (thread != null) {
      thread.join(TimeUnit.SECONDS.toMillis(5));
    }
  }
}
