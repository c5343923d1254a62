package io.synctower.common.protocol;

import static io.synctower.common.protocol.ProtocolSamples.RUN;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The receiver's filter: run, sender and sequence checks, and the counters. */
class MessageGateTest {
  private static Decoded.Ok report(final long runId, final int rank, final long seq) {
    return new Decoded.Ok(seq, rank, new Report.CheckpointDone(runId, rank, 1, "p"));
  }

  private static Decoded.Ok command(final long runId, final long seq) {
    return new Decoded.Ok(seq, Join.COORDINATOR, new Command.Shutdown(runId));
  }

  @Test
  void acceptsIncreasingSequenceNumbersFromEveryRank() {
    final MessageGate gate = new MessageGate(RUN, 3, false);
    for (long seq = 1; seq <= 5; seq++) {
      for (int rank = 0; rank < 3; rank++) {
        assertNull(gate.check(report(RUN, rank, seq * 10 + rank)));
      }
    }
    assertEquals(15, gate.accepted());
    assertEquals("rejected: none", gate.summary());
  }

  @Test
  void rejectsAnotherRunsMessageIncludingAJoinRequestWhichTheCallerHandles() {
    final MessageGate gate = new MessageGate(RUN, 2, false);
    assertEquals(Rejection.WRONG_RUN, gate.check(report(RUN + 1, 0, 1)));
    final Join.Request request = new Join.Request(0, 2, 1, 0, "h", "c", "d");
    assertEquals(Rejection.WRONG_RUN, gate.check(new Decoded.Ok(1, 0, request)));
    assertEquals(2, gate.count(Rejection.WRONG_RUN));
    assertNull(gate.check(report(RUN, 0, 1)), "a rejected message does not advance the sequence");
  }

  @Test
  void rejectsSendersOutsideTheWorldOnTheCoordinator() {
    final MessageGate gate = new MessageGate(RUN, 4, false);
    assertEquals(Rejection.UNKNOWN_SENDER, gate.check(report(RUN, 4, 1)));
    assertEquals(Rejection.UNKNOWN_SENDER, gate.check(report(RUN, -2, 1)));
    assertEquals(Rejection.UNKNOWN_SENDER, gate.check(command(RUN, 1)), "the coordinator itself");
    assertEquals(
        Rejection.UNKNOWN_SENDER,
        gate.check(new Decoded.Ok(1, Integer.MAX_VALUE, new Heartbeat(RUN, Integer.MAX_VALUE, 0))));
    assertNull(gate.check(report(RUN, 3, 1)));
    assertEquals(4, gate.count(Rejection.UNKNOWN_SENDER));
  }

  @Test
  void acceptsOnlyTheCoordinatorOnATower() {
    final MessageGate gate = new MessageGate(RUN, 4, true);
    assertNull(gate.check(command(RUN, 1)));
    assertNull(gate.check(new Decoded.Ok(2, Join.COORDINATOR, new Heartbeat(RUN, -1, 0))));
    assertEquals(Rejection.UNKNOWN_SENDER, gate.check(report(RUN, 0, 3)), "another tower");
  }

  @Test
  void rejectsReplayedDuplicateAndOlderSequenceNumbersPerSender() {
    final MessageGate gate = new MessageGate(RUN, 2, false);
    assertNull(gate.check(report(RUN, 0, 100)));
    assertEquals(Rejection.STALE, gate.check(report(RUN, 0, 100)), "duplicate");
    assertEquals(Rejection.STALE, gate.check(report(RUN, 0, 99)), "older");
    assertEquals(Rejection.STALE, gate.check(report(RUN, 0, Long.MIN_VALUE)));
    assertNull(gate.check(report(RUN, 1, 5)), "rank 1 has its own sequence");
    assertNull(gate.check(report(RUN, 0, 101)));
    assertEquals(3, gate.count(Rejection.STALE));
    assertEquals(3, gate.accepted());
  }

  @Test
  void countsDecodeFailuresWithItsOwnAndSummarizesInReasonOrder() {
    final MessageGate gate = new MessageGate(RUN, 2, false);
    gate.check(report(RUN + 1, 0, 1));
    gate.check(report(RUN + 2, 0, 1));
    gate.check(report(RUN, 0, 5));
    gate.check(report(RUN, 0, 5));
    gate.countDecodeFailure(Rejection.BAD_TAG);
    gate.countDecodeFailure(Rejection.IMPOSTOR);
    assertEquals(1, gate.count(Rejection.BAD_TAG));
    assertEquals(0, gate.count(Rejection.MALFORMED));
    assertEquals("rejected: 1 bad tag, 2 wrong run, 1 stale, 1 impostor", gate.summary());
  }

  @Test
  void countersAreReadableFromAnotherThread() throws Exception {
    final MessageGate gate = new MessageGate(RUN, 1, false);
    for (int i = 0; i < 1000; i++) {
      gate.check(report(RUN, 0, 1)); // first accepted, the rest stale
    }
    final long stale =
        CompletableFuture.supplyAsync(() -> gate.count(Rejection.STALE)).get(10, TimeUnit.SECONDS);
    assertEquals(999, stale);
  }

  @Test
  void refusesRunIdZeroAndAnEmptyWorld() {
    assertThrows(IllegalArgumentException.class, () -> new MessageGate(0, 2, false));
    assertThrows(IllegalArgumentException.class, () -> new MessageGate(RUN, 0, false));
  }
}
