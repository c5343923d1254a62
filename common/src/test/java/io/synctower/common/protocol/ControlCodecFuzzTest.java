package io.synctower.common.protocol;

import static io.synctower.common.protocol.ControlCodecTest.encode;
import static io.synctower.common.protocol.ControlCodecTest.retag;
import static io.synctower.common.protocol.ProtocolSamples.SECRET;
import static io.synctower.common.protocol.ProtocolSamples.authenticated;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.protocol.sbe.AbortDecoder;
import io.synctower.common.protocol.sbe.BnRecalibratedDecoder;
import io.synctower.common.protocol.sbe.ChallengeDecoder;
import io.synctower.common.protocol.sbe.CheckpointDoneDecoder;
import io.synctower.common.protocol.sbe.CheckpointRequestDecoder;
import io.synctower.common.protocol.sbe.EvaluateDecoder;
import io.synctower.common.protocol.sbe.EvaluationDoneDecoder;
import io.synctower.common.protocol.sbe.ExportWeightsRequestDecoder;
import io.synctower.common.protocol.sbe.FailedDecoder;
import io.synctower.common.protocol.sbe.HeartbeatDecoder;
import io.synctower.common.protocol.sbe.JoinProofDecoder;
import io.synctower.common.protocol.sbe.JoinRefusedDecoder;
import io.synctower.common.protocol.sbe.JoinRequestDecoder;
import io.synctower.common.protocol.sbe.RecalibrateBnRequestDecoder;
import io.synctower.common.protocol.sbe.RestoreRequestDecoder;
import io.synctower.common.protocol.sbe.ShutdownDecoder;
import io.synctower.common.protocol.sbe.StepDoneDecoder;
import io.synctower.common.protocol.sbe.TrainStepDecoder;
import io.synctower.common.protocol.sbe.WelcomeDecoder;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.agrona.ExpandableArrayBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Seeded mutations of every sample frame, and random bytes. Whatever the bytes, decode returns (it
 * never throws), rejects through its checks (the backstop never fires), accepts only frames that
 * re-encode to themselves, and never accepts a changed authenticated frame unless its tag was
 * recomputed with the secret.
 */
class ControlCodecFuzzTest {
  private static final int[][] TEMPLATES = {
    {JoinRequestDecoder.TEMPLATE_ID, JoinRequestDecoder.BLOCK_LENGTH},
    {ChallengeDecoder.TEMPLATE_ID, ChallengeDecoder.BLOCK_LENGTH},
    {JoinProofDecoder.TEMPLATE_ID, JoinProofDecoder.BLOCK_LENGTH},
    {WelcomeDecoder.TEMPLATE_ID, WelcomeDecoder.BLOCK_LENGTH},
    {JoinRefusedDecoder.TEMPLATE_ID, JoinRefusedDecoder.BLOCK_LENGTH},
    {TrainStepDecoder.TEMPLATE_ID, TrainStepDecoder.BLOCK_LENGTH},
    {EvaluateDecoder.TEMPLATE_ID, EvaluateDecoder.BLOCK_LENGTH},
    {ShutdownDecoder.TEMPLATE_ID, ShutdownDecoder.BLOCK_LENGTH},
    {AbortDecoder.TEMPLATE_ID, AbortDecoder.BLOCK_LENGTH},
    {ExportWeightsRequestDecoder.TEMPLATE_ID, ExportWeightsRequestDecoder.BLOCK_LENGTH},
    {RestoreRequestDecoder.TEMPLATE_ID, RestoreRequestDecoder.BLOCK_LENGTH},
    {CheckpointRequestDecoder.TEMPLATE_ID, CheckpointRequestDecoder.BLOCK_LENGTH},
    {HeartbeatDecoder.TEMPLATE_ID, HeartbeatDecoder.BLOCK_LENGTH},
    {StepDoneDecoder.TEMPLATE_ID, StepDoneDecoder.BLOCK_LENGTH},
    {EvaluationDoneDecoder.TEMPLATE_ID, EvaluationDoneDecoder.BLOCK_LENGTH},
    {FailedDecoder.TEMPLATE_ID, FailedDecoder.BLOCK_LENGTH},
    {CheckpointDoneDecoder.TEMPLATE_ID, CheckpointDoneDecoder.BLOCK_LENGTH},
    {RecalibrateBnRequestDecoder.TEMPLATE_ID, RecalibrateBnRequestDecoder.BLOCK_LENGTH},
    {BnRecalibratedDecoder.TEMPLATE_ID, BnRecalibratedDecoder.BLOCK_LENGTH},
  };

  private final ControlCodec codec = new ControlCodec(SECRET);
  private final ExpandableArrayBuffer reencoded = new ExpandableArrayBuffer(1024);
  private final Random random = new Random(0x5EED);
  private final List<Message> samples = ProtocolSamples.small();
  private long decodes;
  private long oks;

  @AfterEach
  void noFrameReachedTheBackstop() {
    assertEquals(0, codec.backstopHits(), "every rejection must come from a check");
  }

  /**
   * Decodes {@code frame} inside a larger buffer (junk on both sides, so a read past the frame
   * would see bytes rather than hit the buffer's end), fails on any exception, and checks that an
   * Ok re-encodes to exactly {@code frame}.
   */
  private Decoded decode(final byte[] frame) {
    final byte[] backing = new byte[frame.length + 64];
    Arrays.fill(backing, (byte) 0x5A);
    System.arraycopy(frame, 0, backing, 32, frame.length);
    final Decoded d;
    try {
      d = codec.decode(new UnsafeBuffer(backing), 32, frame.length);
    } catch (final RuntimeException e) {
      throw new AssertionError("decode threw on " + hex(frame), e);
    }
    decodes++;
    if (d instanceof Decoded.Ok ok) {
      oks++;
      assertEquals(ControlCodec.senderOf(ok.message()), ok.sender());
      final int n = codec.encode(ok.message(), ok.seq(), reencoded, 0);
      final byte[] again = new byte[n];
      reencoded.getBytes(0, again);
      assertArrayEquals(frame, again, () -> "accepted a non-canonical frame " + hex(frame));
    }
    return d;
  }

  /** A changed authenticated frame must never decode to an authenticated message. */
  private void assertNoForgery(final Message original, final byte[] mutated, final Decoded d) {
    if (authenticated(original) && d instanceof Decoded.Ok ok) {
      assertFalse(
          authenticated(ok.message()),
          () -> "forged " + ok.message() + " from a changed " + original + ": " + hex(mutated));
    }
  }

  private static String hex(final byte[] b) {
    return HexFormat.of().formatHex(b, 0, Math.min(b.length, 200));
  }

  private byte[] randomBytes(final int n) {
    final byte[] b = new byte[n];
    random.nextBytes(b);
    return b;
  }

  @Test
  void randomBytesNeverThrowAndAreRejected() {
    for (int i = 0; i < 3000; i++) {
      final Decoded d = decode(randomBytes(random.nextInt(300)));
      assertInstanceOf(Decoded.Rejected.class, d);
    }
  }

  @Test
  void randomBodiesBehindAValidHeaderNeverThrow() {
    // Gets past the header checks, so the tag, the text and the group checks see random input;
    // random fixed-size handshake bodies can be Ok, and are then canonical. Those are 2 of the
    // templates, hit with their exact length a quarter of the time: 400 tries per template keep
    // the Ok count well above the bar below as templates are added.
    final Set<Rejection> seen = EnumSet.noneOf(Rejection.class);
    for (int i = 0; i < 400 * TEMPLATES.length; i++) {
      final int[] t = TEMPLATES[random.nextInt(TEMPLATES.length)];
      final byte[] frame =
          randomBytes(8 + t[1] + (random.nextInt(4) == 0 ? 0 : random.nextInt(80)));
      final ByteBuffer b = ByteBuffer.wrap(frame).order(ByteOrder.LITTLE_ENDIAN);
      b.putShort(0, (short) t[1]).putShort(2, (short) t[0]);
      b.putShort(4, (short) ControlCodec.SCHEMA_ID)
          .putShort(6, (short) ControlCodec.SCHEMA_VERSION);
      if (random.nextBoolean()) {
        b.putInt(8 + 16, Join.COORDINATOR);
      }
      if (random.nextBoolean() && frame.length > 8 + t[1] + 4) {
        b.putInt(8 + t[1], random.nextInt(frame.length - 8 - t[1] - 3)); // a plausible length
      }
      final boolean keyed = random.nextBoolean() && frame.length >= 8 + t[1] + 32;
      final Decoded d = decode(keyed ? retag(frame) : frame);
      if (d instanceof Decoded.Rejected r) {
        seen.add(r.reason());
      }
    }
    assertTrue(
        seen.containsAll(EnumSet.of(Rejection.MALFORMED, Rejection.BAD_TAG)), seen::toString);
    assertTrue(oks > 100, "some random bodies must be valid, to exercise the canonical check");
  }

  @Test
  void everyBitFlipOfAnAuthenticatedFrameIsRejectedAndOfAHandshakeFrameIsHarmless() {
    for (final Message m : samples) {
      final byte[] frame = encode(codec, m, 41);
      for (int b = 0; b < frame.length * 8; b++) {
        final int bit = b;
        final byte[] flipped = frame.clone();
        flipped[bit / 8] ^= (byte) (1 << (bit % 8));
        final Decoded d = decode(flipped);
        if (authenticated(m)) {
          final Decoded.Rejected r =
              assertInstanceOf(Decoded.Rejected.class, d, () -> "bit " + bit + " of " + m);
          final boolean inTemplateId = bit / 8 == 2 || bit / 8 == 3;
          assertTrue(
              r.reason() == Rejection.BAD_TAG
                  || r.reason() == Rejection.MALFORMED
                  || (inTemplateId && r.reason() == Rejection.UNKNOWN_TYPE),
              () -> "bit " + bit + ": " + r);
        }
        // A handshake frame may decode to another handshake message (re-encoding checked).
      }
    }
  }

  @Test
  void everyTruncationIsRejectedByTheLengthChecks() {
    for (final Message m : samples) {
      final byte[] frame = encode(codec, m, 41);
      for (int length = 0; length < frame.length; length++) {
        final Decoded d = decode(Arrays.copyOf(frame, length));
        final Decoded.Rejected r =
            assertInstanceOf(Decoded.Rejected.class, d, () -> "truncated " + m);
        if (!authenticated(m)) {
          assertEquals(Rejection.MALFORMED, r.reason(), r.detail());
        } else {
          assertTrue(
              r.reason() == Rejection.MALFORMED || r.reason() == Rejection.BAD_TAG, r::detail);
        }
      }
    }
  }

  @Test
  void everyExtensionWithGarbageIsRejected() {
    for (final Message m : samples) {
      final byte[] frame = encode(codec, m, 41);
      for (int extra = 1; extra <= 80; extra++) {
        final byte[] longer = Arrays.copyOf(frame, frame.length + extra);
        System.arraycopy(randomBytes(extra), 0, longer, frame.length, extra);
        assertInstanceOf(Decoded.Rejected.class, decode(longer), () -> "extended " + m);
      }
    }
  }

  @Test
  void randomByteChangesNeverForgeAnAuthenticatedMessage() {
    final byte[] special = {0, (byte) 0xFF, (byte) 0x80, 0x7F, 1};
    for (final Message m : samples) {
      final byte[] frame = encode(codec, m, 41);
      for (int i = 0; i < 300; i++) {
        final byte[] mutated = frame.clone();
        final int changes = 1 + random.nextInt(4);
        for (int c = 0; c < changes; c++) {
          final int at = random.nextInt(mutated.length);
          mutated[at] =
              random.nextBoolean()
                  ? special[random.nextInt(special.length)]
                  : (byte) random.nextInt(256);
        }
        if (!Arrays.equals(frame, mutated)) {
          assertNoForgery(m, mutated, decode(mutated));
        }
      }
    }
  }

  @Test
  void extremeHeaderValuesAreRejectedForEveryMessage() {
    final int[] extremes = {0, 1, 2, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFE, 0xFFFF};
    for (final Message m : samples) {
      final byte[] frame = encode(codec, m, 41);
      for (int field = 0; field < 4; field++) {
        final int original =
            ByteBuffer.wrap(frame).order(ByteOrder.LITTLE_ENDIAN).getShort(2 * field) & 0xFFFF;
        final List<Integer> values = new ArrayList<>();
        for (final int v : extremes) {
          values.add(v);
        }
        values.add(original - 1);
        values.add(original + 1);
        for (final int v : values) {
          if ((v & 0xFFFF) == original) {
            continue;
          }
          final byte[] mutated = frame.clone();
          ByteBuffer.wrap(mutated).order(ByteOrder.LITTLE_ENDIAN).putShort(2 * field, (short) v);
          final Decoded d = decode(mutated);
          assertInstanceOf(Decoded.Rejected.class, d, () -> "header field " + v + " of " + m);
        }
      }
      for (int templateId = 0; templateId < 256; templateId++) {
        if (templateId == (frame[2] & 0xFF) && frame[3] == 0) {
          continue;
        }
        final byte[] mutated = frame.clone();
        ByteBuffer.wrap(mutated).order(ByteOrder.LITTLE_ENDIAN).putShort(2, (short) templateId);
        assertNoForgery(m, mutated, decode(mutated));
      }
    }
  }

  @Test
  void keyedPeersMalformedFramesAreRejectedByTheStructureChecks() {
    // Past the tag: random changes after the header with the tag recomputed, as a peer with the
    // secret but a bug would send. Only canonical frames may pass (checked in decode()).
    int rejected = 0;
    for (final Message m : samples) {
      if (!authenticated(m)) {
        continue;
      }
      final byte[] frame = encode(codec, m, 41);
      final int body = frame.length - ControlCodec.TAG_LENGTH;
      for (int i = 0; i < 300; i++) {
        final byte[] mutated = frame.clone();
        final int at = 8 + random.nextInt(body - 8);
        if (random.nextBoolean()) {
          mutated[at] = (byte) random.nextInt(256);
        } else if (at + 4 <= body) {
          // A length, a count or a code set to something large or negative.
          ByteBuffer.wrap(mutated)
              .order(ByteOrder.LITTLE_ENDIAN)
              .putInt(at, random.nextBoolean() ? -1 - random.nextInt(4) : random.nextInt());
        }
        if (decode(retag(mutated)) instanceof Decoded.Rejected) {
          rejected++;
        }
      }
    }
    assertTrue(rejected > 1000, "the mutations must mostly hit the checks: " + rejected);
  }

  @Test
  void theLargestWelcomeSurvivesSampledFlipsWithoutThrowing() {
    final List<String> peers = new ArrayList<>();
    for (int i = 0; i < 256; i++) {
      peers.add("aeron:udp?endpoint=node-" + i + ":40124");
    }
    final Join.Welcome big =
        new Join.Welcome(ProtocolSamples.RUN, 1, 256, 7L, peers, "k: v\n".repeat(200_000));
    final byte[] frame = encode(codec, big, 9);
    for (int i = 0; i < 40; i++) {
      final byte[] flipped = frame.clone();
      final int bit = random.nextInt(frame.length * 8);
      flipped[bit / 8] ^= (byte) (1 << (bit % 8));
      assertInstanceOf(Decoded.Rejected.class, decode(flipped));
    }
    assertEquals(40, decodes);
  }
}
