package io.synctower.benchmarks;

import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;

/**
 * Runs one collective operation on every member of a group, exactly once per {@link #run()}: member
 * 0 on the calling thread (JMH's benchmark thread), members 1..N-1 on partner threads this object
 * owns. A partner starts its call only after {@link #run()} asked for it, so no member is ever left
 * waiting in a collective the others will not enter, which is what happens with JMH
 * {@code @GroupThreads} when one thread sees the end of an iteration one call earlier than another.
 *
 * <pre>{@code
 * try (Lockstep lockstep = new Lockstep(2, rank -> members[rank].allReduceSum(buffers[rank]), group::abort)) {
 *   while (measuring) {
 *     lockstep.run(); // member 0 here, member 1 on its partner thread, both complete
 *   }
 * }
 * }</pre>
 *
 * <p>The time of {@link #run()} is member 0's time of the collective, as a tower sees it. Between
 * calls the partners wait with a short spin, then yields, then parks, so back-to-back calls are not
 * delayed by a wake-up.
 *
 * <p>Failures: an exception on any member aborts the group (the {@code abort} callback, e.g. {@code
 * InProcessGroup::abort}) so that no member hangs, and {@link #run()} rethrows it.
 */
public final class Lockstep implements AutoCloseable {
  /** One member's part of the operation; called with the member's rank on that member's thread. */
  @FunctionalInterface
  public interface MemberAction {
    void run(int rank) throws Exception;
  }

  private final MemberAction action;
  private final Consumer<Throwable> abort;
  private final AtomicLong requested = new AtomicLong();
  private final Thread[] partners;
  private volatile boolean closed;
  private volatile Throwable failure;

  /**
   * Starts {@code members - 1} partner threads (daemons, named {@code lockstep-member-R}).
   *
   * @param members group size, at least 1
   * @param action what each member does once per {@link #run()}
   * @param abort fails the group's pending and later collectives, from any thread
   */
  public Lockstep(final int members, final MemberAction action, final Consumer<Throwable> abort) {
    if (members < 1) {
      throw new IllegalArgumentException("a group needs at least one member, got " + members);
    }
    this.action = Objects.requireNonNull(action, "action");
    this.abort = Objects.requireNonNull(abort, "abort");
    this.partners = new Thread[members - 1];
    for (int r = 1; r < members; r++) {
      final int rank = r;
      final Thread t = new Thread(() -> partnerLoop(rank), "lockstep-member-" + rank);
      t.setDaemon(true);
      partners[r - 1] = t;
      t.start();
    }
  }

  /** Runs the operation once on every member; returns when member 0's part returned. */
  public void run() throws Exception {
    throwIfFailed();
    requested.incrementAndGet();
    try {
      action.run(0);
    } catch (Exception | Error e) {
      fail(e);
      throw e;
    }
  }

  private void partnerLoop(final int rank) {
    final IdleStrategy idle = new BackoffIdleStrategy(2_000, 100, 1_000, 100_000);
    long done = 0;
    try {
      while (!closed) {
        if (requested.get() > done) {
          done++;
          idle.reset();
          action.run(rank);
        } else {
          idle.idle();
        }
      }
    } catch (Throwable t) {
      if (!closed) {
        fail(t);
      }
    }
  }

  private void fail(final Throwable t) {
    if (failure == null) {
      failure = t;
    }
    abort.accept(t);
  }

  private void throwIfFailed() {
    final Throwable t = failure;
    if (t != null) {
      throw new IllegalStateException("a member of the lockstep group failed: " + t, t);
    }
  }

  /**
   * Stops the partner threads. They are idle between calls, so this returns at once; a partner
   * still inside a collective after 5 s is released by aborting the group.
   */
  @Override
  public void close() throws InterruptedException {
    closed = true;
    for (final Thread t : partners) {
      t.join(TimeUnit.SECONDS.toMillis(5));
      if (t.isAlive()) {
        abort.accept(new IllegalStateException("lockstep closed while " + t.getName() + " ran"));
        t.join();
      }
    }
  }
}
