package io.synctower.benchmarks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.Phaser;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

class LockstepTest {
  @Test
  void shouldRunEveryMemberExactlyOncePerCallThroughABarrierThatNeedsAllOfThem() {
    // The action is a barrier of all members: one member missing a call, or one running a call
    // more, would hang it (the timeout fails the test) or leave the counts unequal.
    final int members = 3;
    final int calls = 2_000;
    final CyclicBarrier barrier = new CyclicBarrier(members);
    final AtomicIntegerArray count = new AtomicIntegerArray(members);
    assertTimeoutPreemptively(
        Duration.ofSeconds(30),
        () -> {
          try (Lockstep lockstep =
              new Lockstep(
                  members,
                  rank -> {
                    barrier.await();
                    count.incrementAndGet(rank);
                  },
                  cause -> barrier.reset())) {
            for (int i = 0; i < calls; i++) {
              lockstep.run();
            }
          }
        });
    for (int r = 0; r < members; r++) {
      assertEquals(calls, count.get(r), "member " + r);
    }
  }

  @Test
  void shouldReleaseTheCallerAndReportWhenAPartnerFails() {
    // Terminating a Phaser is permanent, so the abort also fails a wait that starts after it.
    final Phaser barrier = new Phaser(2);
    final AtomicIntegerArray count = new AtomicIntegerArray(2);
    assertTimeoutPreemptively(
        Duration.ofSeconds(30),
        () -> {
          try (Lockstep lockstep =
              new Lockstep(
                  2,
                  rank -> {
                    if (rank == 1 && count.incrementAndGet(1) == 5) {
                      throw new IllegalStateException("member 1 broke");
                    }
                    final int phase = barrier.arrive();
                    if (phase < 0 || barrier.awaitAdvance(phase) < 0) {
                      throw new BrokenBarrierException();
                    }
                  },
                  cause -> barrier.forceTermination())) {
            for (int i = 0; i < 4; i++) {
              lockstep.run();
            }
            // The 5th call: member 1 throws, the abort breaks the barrier member 0 waits in.
            assertThrows(BrokenBarrierException.class, lockstep::run);
            final IllegalStateException later =
                assertThrows(IllegalStateException.class, lockstep::run);
            assertTrue(later.getMessage().contains("member 1 broke"), later.getMessage());
          }
        });
  }

  @Test
  void shouldRefuseAnEmptyGroup() {
    assertThrows(IllegalArgumentException.class, () -> new Lockstep(0, rank -> {}, cause -> {}));
  }
}
