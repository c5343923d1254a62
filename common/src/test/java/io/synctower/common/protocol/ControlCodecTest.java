package io.synctower.common.protocol;

import static io.synctower.common.protocol.ProtocolSamples.RUN;
import static io.synctower.common.protocol.ProtocolSamples.SECRET;
import static io.synctower.common.protocol.ProtocolSamples.assertSameMessage;
import static io.synctower.common.protocol.ProtocolSamples.authenticated;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.metrics.MetricSums;
import io.synctower.common.metrics.PhaseTimes;
import io.synctower.common.protocol.sbe.AbortDecoder;
import io.synctower.common.protocol.sbe.CheckpointRequestDecoder;
import io.synctower.common.protocol.sbe.EvaluateDecoder;
import io.synctower.common.protocol.sbe.FailedDecoder;
import io.synctower.common.protocol.sbe.FailureCause;
import io.synctower.common.protocol.sbe.HeartbeatDecoder;
import io.synctower.common.protocol.sbe.JoinRequestDecoder;
import io.synctower.common.protocol.sbe.StepDoneDecoder;
import io.synctower.common.protocol.sbe.TrainStepDecoder;
import io.synctower.common.protocol.sbe.WelcomeDecoder;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;
import org.agrona.DirectBuffer;
import org.agrona.ExpandableArrayBuffer;
import org.agrona.ExpandableDirectByteBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Round trips, the frame layout against an independent HMAC, the edges that throw, and one named
 * case per check decode makes. The random mutations are in {@link ControlCodecFuzzTest}.
 */
class ControlCodecTest {
  private final ControlCodec codec = new ControlCodec(SECRET);

  /** Encodes into a fresh array of exactly the frame's length. */
  static byte[] encode(final ControlCodec codec, final Message m, final long seq) {
    final byte[] frame = new byte[ControlCodec.encodedLength(m)];
    assertEquals(frame.length, codec.encode(m, seq, new UnsafeBuffer(frame), 0));
    return frame;
  }

  private Decoded decode(final byte[] frame) {
    return codec.decode(new UnsafeBuffer(frame), 0, frame.length);
  }

  /** A keyed peer's frame: recomputes the tag after the bytes before it were changed. */
  static byte[] retag(final byte[] frame) {
    final int body = frame.length - ControlCodec.TAG_LENGTH;
    System.arraycopy(
        ProtocolSamples.hmac(SECRET, frame, body), 0, frame, body, ControlCodec.TAG_LENGTH);
    return frame;
  }

  private static ByteBuffer le(final byte[] frame) {
    return ByteBuffer.wrap(frame).order(ByteOrder.LITTLE_ENDIAN);
  }

  private void assertRejected(final Rejection reason, final String detailPart, final byte[] frame) {
    final Decoded d = decode(frame);
    final Decoded.Rejected r = assertInstanceOf(Decoded.Rejected.class, d, () -> "got " + d);
    assertEquals(reason, r.reason(), r.detail());
    assertTrue(
        r.detail().contains(detailPart), () -> "'" + r.detail() + "' lacks '" + detailPart + "'");
    assertEquals(0, codec.backstopHits(), "rejected by a check, not by the backstop");
  }

  // ---------------------------------------------------------------- round trips and layout

  @Test
  void samplesCoverEveryMessageType() {
    final Set<String> covered = new HashSet<>();
    for (final Message m : ProtocolSamples.small()) {
      covered.add(m.getClass().getName());
    }
    assertEquals(ProtocolSamples.allMessageTypes(), Set.copyOf(covered));
  }

  @Test
  void samplesCoverEveryFailureCauseAndBothValuesOfTheVersion2Flags() {
    final Set<Object> covered = new HashSet<>();
    for (final Message m : ProtocolSamples.small()) {
      if (m instanceof Report.Failed f) {
        covered.add(f.cause());
      } else if (m instanceof Command.Checkpoint c) {
        covered.add("awaitWrite=" + c.awaitWrite());
      } else if (m instanceof Report.StepDone s) {
        covered.add("skipped=" + s.skipped());
      }
    }
    final Set<Object> expected = new HashSet<>(List.of(Report.Cause.values()));
    expected.addAll(
        List.of("awaitWrite=true", "awaitWrite=false", "skipped=true", "skipped=false"));
    assertEquals(expected, covered);
  }

  @Test
  void shouldDecodeEveryMessageTypeToTheMessageItEncoded() {
    long seq = -3;
    for (final Message m : ProtocolSamples.small()) {
      final byte[] frame = encode(codec, m, seq);
      final Decoded.Ok ok = assertInstanceOf(Decoded.Ok.class, decode(frame), m::toString);
      assertSameMessage(m, ok.message());
      assertEquals(seq, ok.seq());
      assertEquals(ControlCodec.senderOf(m), ok.sender());
      seq += 1_000_000_007L;
    }
  }

  @Test
  void shouldMapSendersAsTheSchemaSays() {
    assertEquals(Join.COORDINATOR, ControlCodec.senderOf(new Command.Shutdown(RUN)));
    assertEquals(
        Join.COORDINATOR, ControlCodec.senderOf(new Join.Challenge(RUN, 4, new byte[32], 7L)));
    assertEquals(
        Join.COORDINATOR, ControlCodec.senderOf(new Join.Welcome(RUN, 4, 5, 7L, List.of(), "")));
    assertEquals(
        Join.COORDINATOR, ControlCodec.senderOf(new Join.Refused(RUN, 4, 7L, "rank 4 is taken")));
    assertEquals(4, ControlCodec.senderOf(new Join.Proof(RUN, 4, new byte[32])));
    assertEquals(4, ControlCodec.senderOf(new Join.Request(4, 5, 1, 0, "h", "c", "d")));
    assertEquals(6, ControlCodec.senderOf(new Report.CheckpointDone(RUN, 6, 1, "p")));
    assertEquals(9, ControlCodec.senderOf(new Heartbeat(RUN, 9, 0)));
  }

  @Test
  void shouldWriteHeaderCommonFieldsAndAnHmacSha256TagOfTheMessageBytes() {
    final long seq = 0x0102_0304_0506_0708L;
    for (final Message m : ProtocolSamples.small()) {
      final byte[] frame = encode(codec, m, seq);
      final ByteBuffer b = le(frame);
      assertEquals(ControlCodec.SCHEMA_ID, b.getShort(4) & 0xFFFF, "schema id");
      assertEquals(ControlCodec.SCHEMA_VERSION, b.getShort(6) & 0xFFFF, "version");
      // "Every control message starts with runId int64, seq int64, sender int32" (synctower.xml)
      assertEquals(m.runId(), b.getLong(8), "runId");
      assertEquals(seq, b.getLong(16), "seq");
      assertEquals(ControlCodec.senderOf(m), b.getInt(24), "sender");
      if (authenticated(m)) {
        final int body = frame.length - ControlCodec.TAG_LENGTH;
        assertArrayEquals(
            ProtocolSamples.hmac(SECRET, frame, body),
            Arrays.copyOfRange(frame, body, frame.length),
            m.getClass().getSimpleName());
      }
    }
  }

  @Test
  void shouldLeaveJoinHandshakeMessagesUntagged() {
    final Join.Request r = new Join.Request(1, 2, 3, 4, "ab", "c", "");
    // 8 header + 36 block + three texts (4-byte length each) of 2, 1 and 0 bytes
    assertEquals(
        8 + JoinRequestDecoder.BLOCK_LENGTH + 4 + 2 + 4 + 1 + 4, encode(codec, r, 1).length);
    // 8 header + 64 block (runId, seq, sender, rank, nonce, pid)
    assertEquals(8 + 64, encode(codec, new Join.Challenge(RUN, 1, new byte[32], 7L), 1).length);
    assertEquals(8 + 52, encode(codec, new Join.Proof(RUN, 1, new byte[32]), 1).length);
    assertEquals(
        8 + HeartbeatDecoder.BLOCK_LENGTH + 32, encode(codec, new Heartbeat(RUN, 1, 2), 1).length);
  }

  @Test
  void shouldWriteOnlyItsFrameAtAnOffsetAndDecodeFromThere() {
    final Message m = ProtocolSamples.small().get(6); // a Welcome
    final int length = ControlCodec.encodedLength(m);
    final byte[] backing = new byte[length + 100];
    Arrays.fill(backing, (byte) 0xAA);
    final UnsafeBuffer buffer = new UnsafeBuffer(backing);
    assertEquals(length, codec.encode(m, 5, buffer, 37));
    for (int i = 0; i < backing.length; i++) {
      if (i < 37 || i >= 37 + length) {
        assertEquals((byte) 0xAA, backing[i], "byte " + i + " outside the frame");
      }
    }
    final Decoded.Ok ok = assertInstanceOf(Decoded.Ok.class, codec.decode(buffer, 37, length));
    assertSameMessage(m, ok.message());
    // The same bytes with the neighbours in the frame are not a frame.
    assertInstanceOf(Decoded.Rejected.class, codec.decode(buffer, 37, length + 1));
  }

  @Test
  void shouldRoundTripThroughEveryKindOfAgronaBuffer() {
    final List<Supplier<MutableDirectBuffer>> kinds =
        List.of(
            () -> new UnsafeBuffer(new byte[4096], 3, 4000),
            () -> new UnsafeBuffer(ByteBuffer.allocateDirect(4096)),
            () -> new ExpandableArrayBuffer(8),
            () -> new ExpandableDirectByteBuffer(8));
    for (final Supplier<MutableDirectBuffer> kind : kinds) {
      for (final Message m : ProtocolSamples.small()) {
        final MutableDirectBuffer buffer = kind.get();
        final int length = codec.encode(m, 77, buffer, 11);
        final DirectBuffer copy = new UnsafeBuffer(new byte[length]);
        ((MutableDirectBuffer) copy).putBytes(0, buffer, 11, length);
        for (final DirectBuffer from : List.<DirectBuffer>of(buffer, copy)) {
          final int at = from == buffer ? 11 : 0;
          final Decoded.Ok ok = assertInstanceOf(Decoded.Ok.class, codec.decode(from, at, length));
          assertSameMessage(m, ok.message());
        }
      }
    }
  }

  @Test
  void shouldRoundTripTextsAtTheSchemaLimitAndAWelcomeOfAThousandPeers() {
    final String yaml = "y".repeat(ControlCodec.MAX_TEXT_BYTES - 2) + "é"; // 2 bytes in UTF-8
    final List<String> peers = new java.util.ArrayList<>();
    for (int i = 0; i < 1000; i++) {
      peers.add("aeron:udp?endpoint=node-" + i + ".cluster.example:40124");
    }
    final Join.Welcome big = new Join.Welcome(RUN, 999, 1000, 7L, peers, yaml);
    final int length = ControlCodec.encodedLength(big);
    assertTrue(length <= ControlCodec.MAX_ENCODED_LENGTH);
    final ExpandableArrayBuffer buffer = new ExpandableArrayBuffer(64);
    assertEquals(length, codec.encode(big, 1, buffer, 0));
    final Decoded.Ok ok = assertInstanceOf(Decoded.Ok.class, codec.decode(buffer, 0, length));
    assertSameMessage(big, ok.message());
  }

  @Test
  void shouldRoundTripACheckpointWhoseTrainerStateIsAtTheSchemaLimit() {
    final String state = "s".repeat(ControlCodec.MAX_TEXT_BYTES - 4) + "𝄞"; // 4 bytes in UTF-8
    final Command.Checkpoint c =
        new Command.Checkpoint(RUN, 10, "/data/runs/r1/checkpoints", 5, true, state);
    final ExpandableArrayBuffer buffer = new ExpandableArrayBuffer(64);
    final int length = codec.encode(c, 1, buffer, 0);
    assertEquals(ControlCodec.encodedLength(c), length);
    final Decoded.Ok ok = assertInstanceOf(Decoded.Ok.class, codec.decode(buffer, 0, length));
    assertSameMessage(c, ok.message());
  }

  @Test
  void shouldRejectACheckpointRequestWhoseTrainerStateIsCutNamingTheField() {
    final byte[] frame = encode(codec, new Command.Checkpoint(RUN, 1, "dir", 1, true, "ab"), 1);
    final int state = 8 + CheckpointRequestDecoder.BLOCK_LENGTH + 4 + 3;
    le(frame).putInt(state, 3);
    assertRejected(
        Rejection.MALFORMED, "CheckpointRequest.trainerState claims 3 bytes", retag(frame));
  }

  @Test
  void shouldRejectEveryAuthenticatedTypeUnderAnotherSecretAndStillReadTheHandshake() {
    final byte[] other = SECRET.clone();
    other[31] ^= 1;
    final ControlCodec stranger = new ControlCodec(other);
    for (final Message m : ProtocolSamples.small()) {
      final Decoded d = decode(encode(stranger, m, 1));
      if (authenticated(m)) {
        final Decoded.Rejected r = assertInstanceOf(Decoded.Rejected.class, d, m::toString);
        assertEquals(Rejection.BAD_TAG, r.reason());
      } else {
        assertSameMessage(m, assertInstanceOf(Decoded.Ok.class, d).message());
      }
    }
  }

  @Test
  void shouldCopyTheSecretSoLaterChangesToTheArrayDoNotMatter() {
    final byte[] secret = SECRET.clone();
    final ControlCodec mine = new ControlCodec(secret);
    Arrays.fill(secret, (byte) 0);
    final byte[] frame = encode(mine, new Command.Shutdown(RUN), 1);
    assertInstanceOf(Decoded.Ok.class, decode(frame));
  }

  // ---------------------------------------------------------------- edges throw

  @Test
  void shouldRefuseASecretShorterThan16Bytes() {
    final IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> new ControlCodec(new byte[15]));
    assertTrue(e.getMessage().contains("15 bytes"), e.getMessage());
    assertTrue(e.getMessage().contains("16"), e.getMessage());
  }

  @Test
  void shouldRefuseToEncodeWhatTheSchemaCannotCarry() {
    final UnsafeBuffer buffer = new UnsafeBuffer(new byte[64]);
    final String tooLong = "x".repeat(ControlCodec.MAX_TEXT_BYTES + 1);
    assertThrows(
        IllegalArgumentException.class,
        () -> codec.encode(new Command.Abort(RUN, 1, 1, tooLong), 1, buffer, 0),
        "text over 1 MiB");
    final IllegalArgumentException multibyte =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                ControlCodec.encodedLength(new Command.ExportWeights(RUN, 1, "é".repeat(600_000))));
    assertTrue(
        multibyte.getMessage().contains("Command.ExportWeights.path"), multibyte.getMessage());
    assertTrue(multibyte.getMessage().contains("1200000 bytes"), multibyte.getMessage());
    final IllegalArgumentException surrogate =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                codec.encode(
                    new Report.Failed(RUN, 0, 0, "a\uD800b", Report.Cause.CRASHED), 1, buffer, 0));
    assertTrue(surrogate.getMessage().contains("unpaired surrogate"), surrogate.getMessage());
    assertThrows(
        IllegalArgumentException.class,
        () -> codec.encode(new Join.Challenge(RUN, 1, new byte[31], 7L), 1, buffer, 0));
    assertThrows(
        IllegalArgumentException.class,
        () -> codec.encode(new Join.Proof(RUN, 1, new byte[33]), 1, buffer, 0));
    final String half = "z".repeat(ControlCodec.MAX_TEXT_BYTES);
    final IllegalArgumentException big =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                ControlCodec.encodedLength(
                    new Join.Welcome(RUN, 0, 2, 7L, List.of(half, half), "")));
    assertTrue(big.getMessage().contains("MAX_ENCODED_LENGTH"), big.getMessage());
    assertThrows(
        NullPointerException.class,
        () -> codec.encode(new Command.Abort(RUN, 1, 1, null), 1, buffer, 0));
    assertThrows(
        NullPointerException.class,
        () -> codec.encode(new Command.Evaluate(RUN, null), 1, buffer, 0));
    final NullPointerException noCause =
        assertThrows(
            NullPointerException.class,
            () -> codec.encode(new Report.Failed(RUN, 1, 1, "", null), 1, buffer, 0));
    assertTrue(noCause.getMessage().contains("Report.Failed.cause"), noCause.getMessage());
  }

  @Test
  void shouldRefuseABufferWithoutRoomAndWriteNothing() {
    final byte[] backing = new byte[40];
    final UnsafeBuffer buffer = new UnsafeBuffer(backing);
    final Message m = new Report.CheckpointDone(RUN, 1, 2, "/a/long/enough/path");
    final IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> codec.encode(m, 1, buffer, 0));
    assertTrue(e.getMessage().contains("does not fit"), e.getMessage());
    assertArrayEquals(new byte[40], backing);
    assertThrows(
        IllegalArgumentException.class,
        () -> codec.encode(new Command.Shutdown(RUN), 1, buffer, -1));
  }

  @Test
  void shouldRefuseARangeOutsideTheBufferAsTheCallersBug() {
    final UnsafeBuffer buffer = new UnsafeBuffer(new byte[16]);
    assertThrows(IllegalArgumentException.class, () -> codec.decode(buffer, 10, 7));
    assertThrows(IllegalArgumentException.class, () -> codec.decode(buffer, -1, 4));
    assertThrows(IllegalArgumentException.class, () -> codec.decode(buffer, 0, -1));
  }

  // ---------------------------------------------------------------- one case per decode check

  private byte[] heartbeat() {
    return encode(codec, new Heartbeat(RUN, 1, 2), 3);
  }

  @Test
  void shouldRejectFramesShorterThanTheHeader() {
    assertRejected(Rejection.MALFORMED, "shorter than the 8-byte", new byte[0]);
    assertRejected(Rejection.MALFORMED, "shorter than the 8-byte", Arrays.copyOf(heartbeat(), 7));
  }

  @Test
  void shouldRejectAnotherSchemaOrVersionNamingTheFix() {
    final byte[] schema = heartbeat();
    le(schema).putShort(4, (short) 7302);
    assertRejected(Rejection.MALFORMED, "schema id 7302", schema);
    // 1 and 2: processes of earlier builds, whose StepDone (and, in 1, Failed) have other layouts.
    for (final int version : new int[] {0, 1, 2, ControlCodec.SCHEMA_VERSION + 1, 0xFFFF}) {
      final byte[] frame = heartbeat();
      le(frame).putShort(6, (short) version);
      assertRejected(Rejection.MALFORMED, "same SyncTower build", frame);
    }
  }

  @ParameterizedTest(name = "template id {0}")
  @ValueSource(ints = {0, 6, 9, 18, 19, 35, 49, 51, 0xFFFF})
  void shouldRejectTemplateIdsThatAreNotControlMessages(final int templateId) {
    final byte[] frame = heartbeat();
    le(frame).putShort(2, (short) templateId);
    assertRejected(Rejection.UNKNOWN_TYPE, "template id " + templateId, frame);
  }

  @Test
  void shouldRejectTheDataPlaneFrameOnTheControlChannel() {
    final byte[] frame = heartbeat();
    le(frame).putShort(2, (short) 50);
    assertRejected(Rejection.UNKNOWN_TYPE, "ReduceFrame", frame);
  }

  @ParameterizedTest(name = "block length {0}")
  @ValueSource(ints = {0, 1, 27, 29, 0x7FFF, 0xFFFF})
  void shouldRejectEveryBlockLengthButTheSchemasEvenWhenTagged(final int blockLength) {
    // A longer block from a "newer" writer, correctly tagged, is refused too: no forward
    // compatibility by design (see ControlCodec).
    final byte[] message = heartbeat();
    final byte[] frame = Arrays.copyOf(message, Math.max(message.length, 8 + blockLength + 32));
    le(frame).putShort(0, (short) blockLength);
    assertRejected(Rejection.MALFORMED, "block length " + blockLength, retag(frame));
  }

  @Test
  void shouldRejectAFrameTooShortForItsBlockAndTag() {
    final byte[] frame = heartbeat();
    assertRejected(
        Rejection.MALFORMED, "fixed part and tag", Arrays.copyOf(frame, frame.length - 32));
    final byte[] challenge = encode(codec, new Join.Challenge(RUN, 1, new byte[32], 7L), 1);
    assertRejected(
        Rejection.MALFORMED, "fixed part (72", Arrays.copyOf(challenge, challenge.length - 1));
  }

  @Test
  void shouldRejectAFrameLongerThanTheLimitBeforeHashingIt() {
    final byte[] frame = Arrays.copyOf(heartbeat(), ControlCodec.MAX_ENCODED_LENGTH + 1);
    assertRejected(Rejection.MALFORMED, "longer than MAX_ENCODED_LENGTH", frame);
  }

  @Test
  void shouldRejectAChangedTagAndAnyByteAfterIt() {
    final byte[] frame = heartbeat();
    frame[frame.length - 1] ^= 0x01;
    assertRejected(Rejection.BAD_TAG, "tag does not match", frame);
    assertRejected(Rejection.BAD_TAG, "tag does not match", Arrays.copyOf(heartbeat(), 69));
  }

  @Test
  void shouldRejectBytesAfterAMessageEvenWhenTheyAreTagged() {
    final byte[] shutdown = encode(codec, new Command.Abort(RUN, 1, 2, "r"), 1);
    final byte[] longer = new byte[shutdown.length + 3];
    System.arraycopy(shutdown, 0, longer, 0, shutdown.length - 32);
    assertRejected(Rejection.MALFORMED, "3 bytes after the Abort before its tag", retag(longer));
    final byte[] request = encode(codec, new Join.Request(1, 2, 3, 4, "h", "c", "d"), 1);
    assertRejected(
        Rejection.MALFORMED,
        "2 bytes after the Request",
        Arrays.copyOf(request, request.length + 2));
  }

  @ParameterizedTest(name = "text length {0}")
  @ValueSource(longs = {0xFFFF_FFFFL, 0x8000_0000L, 0x7FFF_FFFFL, 1_048_577L, 2})
  void shouldRejectATextLengthPastTheFrameOrTheSchemaLimitFromAKeyedPeer(final long length) {
    final byte[] frame = encode(codec, new Command.Abort(RUN, 1, 2, "r"), 1);
    le(frame).putInt(8 + AbortDecoder.BLOCK_LENGTH, (int) length);
    assertRejected(Rejection.MALFORMED, "Abort.reason claims " + length + " bytes", retag(frame));
  }

  @Test
  void shouldRejectATextLengthCutByTheFrameEnd() {
    final byte[] request = encode(codec, new Join.Request(1, 2, 3, 4, "", "", ""), 1);
    assertRejected(
        Rejection.MALFORMED,
        "JoinRequest.dataEndpoint: the frame ends inside its length",
        Arrays.copyOf(request, request.length - 2));
  }

  @ParameterizedTest(name = "bytes {0}")
  @ValueSource(strings = {"C080", "80", "EDA080", "F09F98", "F4908080", "FF"})
  void shouldRejectTextThatIsNotUtf8(final String hex) {
    final byte[] bad = java.util.HexFormat.of().parseHex(hex);
    final byte[] frame =
        encode(
            codec, new Report.Failed(RUN, 1, 1, "x".repeat(bad.length), Report.Cause.CRASHED), 1);
    System.arraycopy(bad, 0, frame, 8 + FailedDecoder.BLOCK_LENGTH + 4, bad.length);
    assertRejected(Rejection.MALFORMED, "Failed.message is not valid UTF-8", retag(frame));
  }

  @ParameterizedTest(name = "code {0}")
  @ValueSource(ints = {2, 7, 128, 254, 255})
  void shouldRejectEnumCodesTheSchemaDoesNotDefine(final int code) {
    final byte[] train = encode(codec, new Command.TrainStep(RUN, 1, 1, 1, 0.1, true), 1);
    train[8 + TrainStepDecoder.reportHashEncodingOffset()] = (byte) code;
    assertRejected(Rejection.MALFORMED, "TrainStep.reportHash has code " + code, retag(train));
    final byte[] evaluate = encode(codec, new Command.Evaluate(RUN, Command.DatasetRole.TRAIN), 1);
    evaluate[8 + EvaluateDecoder.datasetEncodingOffset()] = (byte) code;
    assertRejected(Rejection.MALFORMED, "Evaluate.dataset has code " + code, retag(evaluate));
    final byte[] step =
        encode(
            codec,
            new Report.StepDone(
                RUN,
                1,
                1,
                new MetricSums(0, 0, 0, 1),
                new PhaseTimes(0, 0, 0, 0, 0, 0),
                0,
                true,
                "loss"),
            1);
    step[8 + StepDoneDecoder.skippedEncodingOffset()] = (byte) code;
    assertRejected(Rejection.MALFORMED, "StepDone.skipped has code " + code, retag(step));
    final byte[] checkpoint = encode(codec, new Command.Checkpoint(RUN, 1, "d", 1, false, ""), 1);
    checkpoint[8 + CheckpointRequestDecoder.awaitWriteEncodingOffset()] = (byte) code;
    assertRejected(
        Rejection.MALFORMED, "CheckpointRequest.awaitWrite has code " + code, retag(checkpoint));
  }

  @Test
  void shouldRefuseAStepDoneWhoseSampleCountTheWiresInt32CannotCarry() {
    final Report.StepDone tooMany =
        new Report.StepDone(
            RUN,
            0,
            1,
            new MetricSums(0, 0, 0, 1L + Integer.MAX_VALUE),
            PhaseTimes.ZERO,
            0,
            false,
            "");
    final IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> ControlCodec.encodedLength(tooMany));
    assertTrue(
        e.getMessage().contains("Report.StepDone.sums.samples is 2147483648"), e::getMessage);
  }

  @Test
  void shouldCarryTheSyncBnReductionTimeAsTheLastFieldOfTheStepDoneBlock() {
    final long nanos = 0x0123_4567_89AB_CDEFL;
    final Report.StepDone sent =
        new Report.StepDone(
            RUN,
            2,
            7,
            new MetricSums(1.5, 3, 1, 4),
            new PhaseTimes(10, 20, 30, nanos, 40, 50),
            0,
            false,
            "x");
    final byte[] frame = encode(codec, sent, 1);
    // Version 3 appended the field to the fixed block: the 8 bytes just before the text.
    assertEquals(nanos, le(frame).getLong(8 + StepDoneDecoder.BLOCK_LENGTH - 8));
    final Decoded.Ok ok = assertInstanceOf(Decoded.Ok.class, decode(frame));
    assertEquals(
        nanos, assertInstanceOf(Report.StepDone.class, ok.message()).times().bnReduceNanos());
    assertEquals(sent, ok.message());
  }

  @Test
  void shouldRejectAStepDoneWhoseNonFiniteTextIsCutOrNotUtf8() {
    final byte[] frame =
        encode(
            codec,
            new Report.StepDone(
                RUN,
                1,
                1,
                new MetricSums(0, 0, 0, 1),
                new PhaseTimes(0, 0, 0, 0, 0, 0),
                0,
                false,
                "ab"),
            1);
    final int text = 8 + StepDoneDecoder.BLOCK_LENGTH;
    final byte[] longer = frame.clone();
    le(longer).putInt(text, 3);
    assertRejected(Rejection.MALFORMED, "StepDone.nonFinite claims 3 bytes", retag(longer));
    final byte[] bad = frame.clone();
    bad[text + 4] = (byte) 0xC0;
    assertRejected(Rejection.MALFORMED, "StepDone.nonFinite is not valid UTF-8", retag(bad));
  }

  @ParameterizedTest(name = "code {0}")
  @ValueSource(ints = {7, 8, 100, 128, 254, 255})
  void shouldRejectAFailureCauseTheSchemaDoesNotDefineNamingTheField(final int code) {
    final byte[] failed =
        encode(codec, new Report.Failed(RUN, 1, 1, "", Report.Cause.CHECKPOINT), 1);
    failed[8 + FailedDecoder.causeEncodingOffset()] = (byte) code;
    assertRejected(Rejection.MALFORMED, "Failed.cause has code " + code, retag(failed));
  }

  @Test
  void shouldCarryEveryFailureCauseAsItsSchemaCode() {
    // The schema's FailureCause lists Report.Cause in its order: code = ordinal.
    for (final Report.Cause cause : Report.Cause.values()) {
      final Report.Failed f = new Report.Failed(RUN, 1, 1, "m", cause);
      final byte[] frame = encode(codec, f, 1);
      assertEquals(cause.ordinal(), frame[8 + FailedDecoder.causeEncodingOffset()], cause.name());
      assertSameMessage(f, assertInstanceOf(Decoded.Ok.class, decode(frame)).message());
    }
    assertEquals(Report.Cause.values().length, FailureCause.values().length - 1, "NULL_VAL aside");
  }

  @Test
  void shouldCallOnlyAbortedAConsequenceAndOnlyCrashedLostOrStalledRecoverable() {
    final Set<Report.Cause> recoverable = new HashSet<>();
    for (final Report.Cause cause : Report.Cause.values()) {
      final Report.Failed f = new Report.Failed(RUN, 0, 0, "", cause);
      assertEquals(cause == Report.Cause.ABORTED, f.consequence(), cause.name());
      if (f.recoverable()) {
        recoverable.add(cause);
      }
    }
    assertEquals(
        Set.of(Report.Cause.CRASHED, Report.Cause.LOST, Report.Cause.STALLED), recoverable);
  }

  @Test
  void shouldRejectACommandChallengeOrWelcomeNotFromTheCoordinator() {
    for (final Message m :
        List.of(
            new Command.Shutdown(RUN),
            new Command.TrainStep(RUN, 1, 1, 1, 1, false),
            new Command.ExportWeights(RUN, 1, "p"),
            new Command.Checkpoint(RUN, 1, "d", 2, true, "s: 1"),
            new Command.Restore(RUN, "d/1"),
            new Join.Welcome(RUN, 0, 1, 7L, List.of("a"), "y"),
            new Join.Refused(RUN, 0, 7L, "rank 0 is taken"))) {
      final byte[] frame = encode(codec, m, 1);
      le(frame).putInt(24, 2);
      assertRejected(Rejection.MALFORMED, "with sender 2", retag(frame));
    }
    final byte[] challenge = encode(codec, new Join.Challenge(RUN, 1, new byte[32], 7L), 1);
    le(challenge).putInt(24, 0);
    assertRejected(Rejection.MALFORMED, "Challenge with sender 0", challenge);
  }

  @Test
  void shouldRejectAJoinRequestThatCarriesARunId() {
    final byte[] frame = encode(codec, new Join.Request(1, 2, 3, 4, "h", "c", "d"), 1);
    le(frame).putLong(8, RUN);
    assertRejected(Rejection.MALFORMED, "JoinRequest with runId", frame);
  }

  @Test
  void shouldRejectAWelcomeGroupThatLiesAboutItsShape() {
    final Join.Welcome w = new Join.Welcome(RUN, 0, 3, 7L, List.of("a", "b", "c"), "y");
    final int group = 8 + WelcomeDecoder.BLOCK_LENGTH;
    for (final int entry : new int[] {0, 3, 5, 0xFFFF}) {
      final byte[] frame = encode(codec, w, 1);
      le(frame).putShort(group, (short) entry);
      assertRejected(Rejection.MALFORMED, "peers entries of " + entry + " bytes", retag(frame));
    }
    for (final int count : new int[] {4, 1000, 0xFFFE, 0xFFFF}) {
      final byte[] frame = encode(codec, w, 1);
      le(frame).putShort(group + 2, (short) count);
      assertRejected(Rejection.MALFORMED, "", retag(frame));
    }
    final byte[] swapped = encode(codec, w, 1);
    le(swapped).putInt(group + 4, 1); // first entry claims rank 1
    assertRejected(Rejection.MALFORMED, "entry 0 has rank 1", retag(swapped));
    final byte[] cut = encode(codec, w, 1);
    final byte[] headerOnly = Arrays.copyOf(cut, group + 2 + 32);
    assertRejected(Rejection.MALFORMED, "inside the peers group header", retag(headerOnly));
  }
}
