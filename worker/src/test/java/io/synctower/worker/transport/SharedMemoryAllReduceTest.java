package io.synctower.worker.transport;

import static io.synctower.worker.transport.AeronCollectiveTest.assertRoundsEqual;
import static io.synctower.worker.transport.AeronCollectiveTest.d;
import static io.synctower.worker.transport.AeronCollectiveTest.f;
import static io.synctower.worker.transport.AeronCollectiveTest.fView;
import static io.synctower.worker.transport.AeronCollectiveTest.inProcess;
import static io.synctower.worker.transport.AeronCollectiveTest.inputs;
import static io.synctower.worker.transport.AeronCollectiveTest.sleep;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.comm.CollectiveAbortedException;
import io.synctower.common.comm.InProcessGroup;
import io.synctower.worker.transport.AeronCollectiveTest.Spec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The IPC shared-memory path of {@link AeronCollective} ({@link SharedSlots}) against {@link
 * InProcessGroup}, bit for bit, with 2, 3 and 4 members as threads: pieces that cut buffers and
 * pack several (float and double) into one, rounds around the threshold, ranges, back-to-back
 * rounds with random delays (a fast member must not overwrite a part of its slot a slow one still
 * reads), abort, mismatch, and the files' life cycle.
 */
class SharedMemoryAllReduceTest {
  /** Every round through shared memory, in 4 KiB pieces: many pieces and piece boundaries. */
  static final UnaryOperator<DataChannels> TINY_PIECES = c -> c.withSharedMemory(0, 4096);

  static AeronGroup group(final int n, final UnaryOperator<DataChannels> tune) {
    return AeronGroup.start(TransportKind.IPC, n, tune, Duration.ofSeconds(60));
  }

  // Around 4 KiB pieces (1024 floats, 512 doubles): exactly one piece, one element more, a float
  // buffer that ends mid-piece followed by doubles (8-aligned in the slot), a view, tiny buffers.
  static final List<List<Spec>> PIECE_ROUNDS =
      List.of(
          List.of(f(1)),
          List.of(f(1024)),
          List.of(f(1025)),
          List.of(d(511), d(513)),
          List.of(f(1023), d(1025), f(3)),
          List.of(f(3), d(2), fView(5000), d(3001), f(1), f(2)),
          List.of(d(7), f(30_011), d(20_003)));

  @ParameterizedTest(name = "{0} members")
  @ValueSource(ints = {2, 3, 4})
  void shouldEqualInProcessGroupBitForBitAcrossPieceBoundaries(final int n) throws Exception {
    try (AeronGroup group = group(n, TINY_PIECES)) {
      assertBackToBackAsInProcess(group, PIECE_ROUNDS, 200, null);
    }
  }

  /**
   * Default settings: rounds just below the threshold (the Aeron path) and just above it, and
   * around the default piece, mixed with a round on the other path in between.
   */
  @ParameterizedTest(name = "{0} members")
  @ValueSource(ints = {2, 3})
  void shouldEqualInProcessGroupBitForBitAroundTheThresholdAndDefaultPiece(final int n)
      throws Exception {
    final DataChannels tuned = DataChannels.tuned(TransportKind.IPC, List.of("a", "b"));
    assertTrue(tuned.sharedMemoryMinBytes() < DataChannels.SHARED_MEMORY_OFF, "on by default");
    final int threshold = (int) tuned.sharedMemoryMinBytes() / 4;
    final int piece = tuned.sharedPieceBytes() / 4;
    final List<List<Spec>> rounds =
        List.of(
            List.of(f(threshold)),
            List.of(f(threshold + 1)),
            List.of(f(piece - 1), d(3)),
            List.of(f(piece), f(2)),
            List.of(d(piece / 2 + 1), f(piece + 5), d(17)),
            List.of(f(100)),
            List.of(f(2 * piece + 3)));
    try (AeronGroup group = group(n, UnaryOperator.identity())) {
      assertBackToBackAsInProcess(group, rounds, 300, null);
    }
  }

  /** Ranges in shared memory (and some on the Aeron path) equal one whole call bit for bit. */
  @ParameterizedTest(name = "{0} members")
  @ValueSource(ints = {2, 3, 4})
  void rangesShouldEqualOneWholeCallBitForBit(final int n) throws Exception {
    final List<Spec> round = List.of(f(300_007));
    final long[] cuts = {300_007, 299_000, 299_000, 200_001, 100_003, 100_002, 5, 0};
    for (final UnaryOperator<DataChannels> tune :
        List.<UnaryOperator<DataChannels>>of(
            TINY_PIECES, c -> c.withSharedMemory(64 << 10, 8192))) {
      try (AeronGroup group = group(n, tune)) {
        final List<INDArray[]> actual =
            group.onMembers(
                m -> {
                  final INDArray[] in = inputs(m.rank(), round, 9);
                  for (int k = 1; k < cuts.length; k++) {
                    m.allReduceSumRange(in[0], cuts[k], cuts[k - 1]);
                  }
                  return in;
                });
        assertRoundsEqual(inProcess(n, round, 9), actual, n + " members, ranges");
      }
    }
  }

  /**
   * Back to back with random sleeps before rounds and between them: members run ahead by a round or
   * fall behind, and the three parts of each slot are reused many times per round.
   */
  @ParameterizedTest(name = "{0} members")
  @ValueSource(ints = {2, 3, 4})
  void shouldStayExactOverBackToBackRoundsWithRandomDelays(final int n) throws Exception {
    final List<List<Spec>> rounds = AeronCollectiveTest.randomRounds(20);
    try (AeronGroup group = group(n, c -> c.withSharedMemory(16 << 10, 8192))) {
      assertBackToBackAsInProcess(group, rounds, 400, new Random(5));
      assertEquals(rounds.size(), group.members.get(0).round());
    }
  }

  private static void assertBackToBackAsInProcess(
      final AeronGroup group, final List<List<Spec>> rounds, final int seed, final Random delays)
      throws Exception {
    final int n = group.size();
    final long[][] sleepsByMember = new long[n][rounds.size()];
    if (delays != null) {
      for (final long[] sleeps : sleepsByMember) {
        for (int k = 0; k < sleeps.length; k++) {
          sleeps[k] = delays.nextInt(3) == 0 ? delays.nextInt(4) : 0;
        }
      }
    }
    AeronCollectiveTest.assertRoundsAsInProcess(
        group, n, rounds, seed, sleepsByMember, n + " members, ");
  }

  /**
   * A member aborted while its peers are in shared-memory rounds: they fail with {@link
   * CollectiveAbortedException} (its abort frame, or at the latest their stall timeout) instead of
   * waiting forever.
   */
  @Test
  void peersShouldFailWhenAMemberIsAbortedMidRound() throws Exception {
    try (AeronGroup group =
        AeronGroup.start(TransportKind.IPC, 3, TINY_PIECES, Duration.ofSeconds(2))) {
      final List<Future<Object>> running = new ArrayList<>();
      for (int r = 0; r < 3; r++) {
        running.add(
            group.submit(
                r,
                m -> {
                  final INDArray buffer = Nd4j.ones(DataType.FLOAT, 1 << 20);
                  while (true) {
                    m.allReduceSum(buffer);
                  }
                }));
      }
      sleep(300);
      final long start = System.nanoTime();
      final IllegalStateException cause = new IllegalStateException("tower 2 died");
      group.members.get(2).abort(cause);
      for (final Future<Object> f : running) {
        final ExecutionException e =
            assertThrows(ExecutionException.class, () -> f.get(20, TimeUnit.SECONDS));
        assertInstanceOf(CollectiveAbortedException.class, e.getCause());
      }
      assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(10), "released in time");
    }
  }

  /**
   * A member that goes away (closes its publications, as a process that exits does) while its peers
   * wait for it in a shared-memory round: they fail with {@link CollectiveAbortedException} long
   * before the stall timeout (60 s here), the way the Aeron path does.
   */
  @Test
  void peersShouldFailWhenAMemberGoesAwayInsteadOfWaitingForItsSlot() throws Exception {
    try (AeronGroup group = group(3, TINY_PIECES)) {
      group.onMembers(
          m -> {
            m.allReduceSum(Nd4j.ones(DataType.FLOAT, 5000));
            return null;
          });
      final List<Future<Object>> waiting = new ArrayList<>();
      for (int r = 0; r < 2; r++) {
        waiting.add(
            group.submit(
                r,
                m -> {
                  m.allReduceSum(Nd4j.ones(DataType.FLOAT, 100_000));
                  return "returned";
                }));
      }
      sleep(200);
      final long start = System.nanoTime();
      group.members.get(2).close(); // member 2 is not in a call: its thread is idle
      for (final Future<Object> f : waiting) {
        final ExecutionException e =
            assertThrows(ExecutionException.class, () -> f.get(30, TimeUnit.SECONDS));
        assertInstanceOf(CollectiveAbortedException.class, e.getCause());
      }
      assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(30), "released in time");
    }
  }

  @Test
  void aMemberThatNeverCallsShouldFailTheOthersAtTheStallTimeoutNamingIt() throws Exception {
    try (AeronGroup group =
        AeronGroup.start(TransportKind.IPC, 3, TINY_PIECES, Duration.ofMillis(300))) {
      final List<Future<Object>> waiting = new ArrayList<>();
      for (int r = 0; r < 2; r++) {
        waiting.add(
            group.submit(
                r,
                m -> {
                  m.allReduceSum(Nd4j.ones(DataType.DOUBLE, 100_000));
                  return "returned";
                }));
      }
      for (final Future<Object> f : waiting) {
        final ExecutionException e =
            assertThrows(ExecutionException.class, () -> f.get(10, TimeUnit.SECONDS));
        assertInstanceOf(CollectiveAbortedException.class, e.getCause());
        assertTrue(e.getCause().getMessage().contains("rank 2"), e.getCause().getMessage());
      }
    }
  }

  /** Negative control: the same number of bytes, other types: the signature check catches it. */
  @Test
  void membersWithOtherTypesOfTheSameSizeShouldFailLoudly() throws Exception {
    try (AeronGroup group =
        AeronGroup.start(TransportKind.IPC, 2, TINY_PIECES, Duration.ofSeconds(5))) {
      final Future<String> a =
          group.submit(0, m -> tryReduce(m, Nd4j.ones(DataType.FLOAT, 20_000)));
      final Future<String> b =
          group.submit(1, m -> tryReduce(m, Nd4j.ones(DataType.DOUBLE, 10_000)));
      for (final String o : List.of(a.get(20, TimeUnit.SECONDS), b.get(20, TimeUnit.SECONDS))) {
        assertTrue(o.contains("disagree"), o);
      }
    }
  }

  private static String tryReduce(final AeronCollective m, final INDArray buffer) {
    try {
      m.allReduceSum(buffer);
      return "ok";
    } catch (RuntimeException e) {
      return e.getClass().getSimpleName() + ": " + e.getMessage();
    }
  }

  @Test
  void eachMemberShouldDeleteItsFileOnClose() throws Exception {
    try (AeronGroup group = group(3, TINY_PIECES)) {
      group.onMembers(
          m -> {
            m.allReduceSum(Nd4j.ones(DataType.FLOAT, 5000));
            return null;
          });
      final List<Path> files = new ArrayList<>();
      for (final AeronCollective m : group.members) {
        assertNotNull(m.sharedFile());
        assertTrue(Files.isRegularFile(m.sharedFile()), m.sharedFile().toString());
        files.add(m.sharedFile());
      }
      assertEquals(3, files.stream().distinct().count());
      group.members.get(1).close();
      assertFalse(Files.exists(files.get(1)));
      assertTrue(Files.exists(files.get(0)) && Files.exists(files.get(2)));
      group.members.get(0).close();
      group.members.get(2).close();
      for (final Path p : files) {
        assertFalse(Files.exists(p), p.toString());
      }
    }
  }

  @Test
  void udpAndSwitchedOffIpcShouldHaveNoSharedMemory() throws Exception {
    try (AeronGroup group =
        AeronGroup.start(TransportKind.IPC, 2, AeronCollectiveTest::ring, Duration.ofSeconds(60))) {
      assertNull(group.members.get(0).sharedFile());
    }
    try (AeronGroup group = AeronGroup.start(TransportKind.UDP, 2)) {
      assertNull(group.members.get(0).sharedFile());
      assertEquals(
          DataChannels.SHARED_MEMORY_OFF, group.members.get(0).channels().sharedMemoryMinBytes());
    }
    assertThrows(
        IllegalArgumentException.class,
        () ->
            DataChannels.tuned(TransportKind.UDP, List.of("127.0.0.1:1"))
                .withSharedMemory(0, 4096));
    assertEquals(DataChannels.SHARED_MEMORY_OFF, DataChannels.sharedMemoryFromEnvironment("off"));
    assertEquals(
        DataChannels.IPC_SHARED_MEMORY_MIN_BYTES, DataChannels.sharedMemoryFromEnvironment(null));
    assertThrows(
        IllegalArgumentException.class, () -> DataChannels.sharedMemoryFromEnvironment("yes"));
  }
}
