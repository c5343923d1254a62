package io.synctower.common.protocol;

import static io.synctower.common.protocol.VarData.ORDER;
import static io.synctower.common.protocol.VarData.TEXT_HEADER;
import static io.synctower.common.protocol.VarData.putText;
import static io.synctower.common.protocol.VarData.textLength;

import io.synctower.common.protocol.sbe.ChallengeDecoder;
import io.synctower.common.protocol.sbe.ChallengeEncoder;
import io.synctower.common.protocol.sbe.JoinProofDecoder;
import io.synctower.common.protocol.sbe.JoinProofEncoder;
import io.synctower.common.protocol.sbe.JoinRefusedDecoder;
import io.synctower.common.protocol.sbe.JoinRefusedEncoder;
import io.synctower.common.protocol.sbe.JoinRequestDecoder;
import io.synctower.common.protocol.sbe.JoinRequestEncoder;
import io.synctower.common.protocol.sbe.MessageHeaderEncoder;
import io.synctower.common.protocol.sbe.WelcomeDecoder;
import io.synctower.common.protocol.sbe.WelcomeEncoder;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

/**
 * The join handshake's messages ({@link Join}), one codec each. Request, Challenge and Proof travel
 * untagged (the handshake proves the secret by itself); Welcome and Refused are tagged. The
 * coordinator's messages (Challenge, Welcome, Refused) are refused with any other sender.
 */
final class JoinCodecs {
  private JoinCodecs() {}

  /** A fresh codec of every handshake message, for one thread. */
  static List<MessageCodec<?>> create() {
    return List.of(
        new RequestCodec(),
        new ChallengeCodec(),
        new ProofCodec(),
        new WelcomeCodec(),
        new RefusedCodec());
  }

  /** A nonce or proof: exactly {@value ControlCodec#TAG_LENGTH} bytes. */
  private static void requireDigest(final byte[] bytes, final String field) {
    Objects.requireNonNull(bytes, field);
    if (bytes.length != ControlCodec.TAG_LENGTH) {
      throw new IllegalArgumentException(
          field + " must be " + ControlCodec.TAG_LENGTH + " bytes, got " + bytes.length);
    }
  }

  /** Worker to coordinator, untagged; carries runId 0 (the worker does not know it yet). */
  static final class RequestCodec extends MessageCodec<Join.Request> {
    private final JoinRequestEncoder encoder = new JoinRequestEncoder();
    private final JoinRequestDecoder decoder = new JoinRequestDecoder();

    RequestCodec() {
      super(
          Join.Request.class,
          "JoinRequest",
          JoinRequestDecoder.TEMPLATE_ID,
          JoinRequestDecoder.BLOCK_LENGTH,
          false);
    }

    @Override
    int sender(final Join.Request m) {
      return m.rank();
    }

    @Override
    long length(final Join.Request m) {
      return JoinRequestEncoder.BLOCK_LENGTH
          + (long) textLength(m.host(), "Join.Request.host")
          + textLength(m.controlEndpoint(), "Join.Request.controlEndpoint")
          + textLength(m.dataEndpoint(), "Join.Request.dataEndpoint");
    }

    @Override
    int write(
        final Join.Request m,
        final long seq,
        final int sender,
        final MutableDirectBuffer buffer,
        final int offset,
        final MessageHeaderEncoder header) {
      final JoinRequestEncoder e =
          encoder
              .wrapAndApplyHeader(buffer, offset, header)
              .runId(m.runId())
              .seq(seq)
              .sender(sender)
              .worldSize(m.worldSize())
              .pid(m.pid())
              .device(m.device());
      e.limit(putText(buffer, e.limit(), m.host()));
      e.limit(putText(buffer, e.limit(), m.controlEndpoint()));
      e.limit(putText(buffer, e.limit(), m.dataEndpoint()));
      return e.encodedLength();
    }

    @Override
    Decoded read(
        final DirectBuffer buffer,
        final int body,
        final int blockLength,
        final int version,
        final VarData.Reader in) {
      final JoinRequestDecoder d = decoder.wrap(buffer, body, blockLength, version);
      if (d.runId() != 0) {
        return malformed("JoinRequest with runId " + d.runId() + ": a request carries 0");
      }
      final String host = in.text("JoinRequest.host");
      final String control = host == null ? null : in.text("JoinRequest.controlEndpoint");
      final String data = control == null ? null : in.text("JoinRequest.dataEndpoint");
      if (data == null) {
        return malformed(in.failure);
      }
      return ok(
          in,
          d.seq(),
          d.sender(),
          new Join.Request(d.sender(), d.worldSize(), d.pid(), d.device(), host, control, data));
    }
  }

  /** Coordinator to worker, untagged: the nonce the worker's proof answers. */
  static final class ChallengeCodec extends MessageCodec<Join.Challenge> {
    private final ChallengeEncoder encoder = new ChallengeEncoder();
    private final ChallengeDecoder decoder = new ChallengeDecoder();

    ChallengeCodec() {
      super(
          Join.Challenge.class,
          "Challenge",
          ChallengeDecoder.TEMPLATE_ID,
          ChallengeDecoder.BLOCK_LENGTH,
          false);
    }

    @Override
    int sender(final Join.Challenge m) {
      return Join.COORDINATOR;
    }

    @Override
    long length(final Join.Challenge m) {
      requireDigest(m.nonce(), "Join.Challenge.nonce");
      return ChallengeEncoder.BLOCK_LENGTH;
    }

    @Override
    int write(
        final Join.Challenge m,
        final long seq,
        final int sender,
        final MutableDirectBuffer buffer,
        final int offset,
        final MessageHeaderEncoder header) {
      return encoder
          .wrapAndApplyHeader(buffer, offset, header)
          .runId(m.runId())
          .seq(seq)
          .sender(sender)
          .rank(m.rank())
          .putNonce(m.nonce(), 0, ControlCodec.TAG_LENGTH)
          .pid(m.pid())
          .encodedLength();
    }

    @Override
    Decoded read(
        final DirectBuffer buffer,
        final int body,
        final int blockLength,
        final int version,
        final VarData.Reader in) {
      final ChallengeDecoder d = decoder.wrap(buffer, body, blockLength, version);
      if (d.sender() != Join.COORDINATOR) {
        return notFromCoordinator(d.sender());
      }
      final byte[] nonce = new byte[ChallengeDecoder.nonceLength()];
      d.getNonce(nonce, 0, nonce.length);
      return ok(in, d.seq(), d.sender(), new Join.Challenge(d.runId(), d.rank(), nonce, d.pid()));
    }
  }

  /** Worker to coordinator, untagged: HMAC of the transcript under the run's secret. */
  static final class ProofCodec extends MessageCodec<Join.Proof> {
    private final JoinProofEncoder encoder = new JoinProofEncoder();
    private final JoinProofDecoder decoder = new JoinProofDecoder();

    ProofCodec() {
      super(
          Join.Proof.class,
          "JoinProof",
          JoinProofDecoder.TEMPLATE_ID,
          JoinProofDecoder.BLOCK_LENGTH,
          false);
    }

    @Override
    int sender(final Join.Proof m) {
      return m.rank();
    }

    @Override
    long length(final Join.Proof m) {
      requireDigest(m.proof(), "Join.Proof.proof");
      return JoinProofEncoder.BLOCK_LENGTH;
    }

    @Override
    int write(
        final Join.Proof m,
        final long seq,
        final int sender,
        final MutableDirectBuffer buffer,
        final int offset,
        final MessageHeaderEncoder header) {
      return encoder
          .wrapAndApplyHeader(buffer, offset, header)
          .runId(m.runId())
          .seq(seq)
          .sender(sender)
          .putProof(m.proof(), 0, ControlCodec.TAG_LENGTH)
          .encodedLength();
    }

    @Override
    Decoded read(
        final DirectBuffer buffer,
        final int body,
        final int blockLength,
        final int version,
        final VarData.Reader in) {
      final JoinProofDecoder d = decoder.wrap(buffer, body, blockLength, version);
      final byte[] proof = new byte[JoinProofDecoder.proofLength()];
      d.getProof(proof, 0, proof.length);
      return ok(in, d.seq(), d.sender(), new Join.Proof(d.runId(), d.sender(), proof));
    }
  }

  /** Coordinator to worker, tagged: every peer's data endpoint (ranks 0..n-1) and the config. */
  static final class WelcomeCodec extends MessageCodec<Join.Welcome> {
    private final WelcomeEncoder encoder = new WelcomeEncoder();
    private final WelcomeDecoder decoder = new WelcomeDecoder();

    WelcomeCodec() {
      super(
          Join.Welcome.class,
          "Welcome",
          WelcomeDecoder.TEMPLATE_ID,
          WelcomeDecoder.BLOCK_LENGTH,
          true);
    }

    @Override
    int sender(final Join.Welcome m) {
      return Join.COORDINATOR;
    }

    @Override
    long length(final Join.Welcome m) {
      final int peers = m.dataEndpoints().size();
      if (peers > WelcomeEncoder.PeersEncoder.countMaxValue()) {
        throw new IllegalArgumentException(
            "Join.Welcome has "
                + peers
                + " data endpoints; the schema's group holds at most "
                + WelcomeEncoder.PeersEncoder.countMaxValue());
      }
      long length = WelcomeEncoder.BLOCK_LENGTH + WelcomeEncoder.PeersEncoder.sbeHeaderSize();
      for (final String endpoint : m.dataEndpoints()) {
        length += WelcomeEncoder.PeersEncoder.sbeBlockLength();
        length += textLength(endpoint, "Join.Welcome.dataEndpoints");
      }
      return length + textLength(m.configYaml(), "Join.Welcome.configYaml");
    }

    @Override
    int write(
        final Join.Welcome m,
        final long seq,
        final int sender,
        final MutableDirectBuffer buffer,
        final int offset,
        final MessageHeaderEncoder header) {
      final WelcomeEncoder e =
          encoder
              .wrapAndApplyHeader(buffer, offset, header)
              .runId(m.runId())
              .seq(seq)
              .sender(sender)
              .rank(m.rank())
              .worldSize(m.worldSize())
              .pid(m.pid());
      final List<String> endpoints = m.dataEndpoints();
      final WelcomeEncoder.PeersEncoder peers = e.peersCount(endpoints.size());
      for (int rank = 0; rank < endpoints.size(); rank++) {
        peers.next().rank(rank);
        e.limit(putText(buffer, e.limit(), endpoints.get(rank)));
      }
      e.limit(putText(buffer, e.limit(), m.configYaml()));
      return e.encodedLength();
    }

    @Override
    Decoded read(
        final DirectBuffer buffer,
        final int body,
        final int blockLength,
        final int version,
        final VarData.Reader in) {
      final WelcomeDecoder d = decoder.wrap(buffer, body, blockLength, version);
      if (d.sender() != Join.COORDINATOR) {
        return notFromCoordinator(d.sender());
      }
      final int entryLength = WelcomeDecoder.PeersDecoder.sbeBlockLength();
      final int count = in.groupCount("Welcome", "peers", entryLength);
      if (count < 0) {
        return malformed(in.failure);
      }
      // Each entry has at least its block and a text length: check before allocating for the count.
      if (count > WelcomeDecoder.PeersDecoder.countMaxValue()) {
        return malformed(
            "Welcome claims "
                + count
                + " peers; the schema's group holds at most "
                + WelcomeDecoder.PeersDecoder.countMaxValue());
      }
      if ((long) count * (entryLength + TEXT_HEADER) > in.remaining()) {
        return malformed(
            "Welcome claims " + count + " peers, more than its " + in.remaining() + " bytes hold");
      }
      final List<String> endpoints = new ArrayList<>(count);
      for (int i = 0; i < count; i++) {
        final int rank =
            buffer.getInt(in.pos + WelcomeDecoder.PeersDecoder.rankEncodingOffset(), ORDER);
        if (rank != i) {
          return malformed(
              "Welcome peer entry " + i + " has rank " + rank + ": entries must be ranks 0..n-1");
        }
        in.pos += entryLength;
        final String endpoint = in.text("Welcome peer dataEndpoint");
        if (endpoint == null) {
          return malformed(in.failure + " (peer " + i + ")");
        }
        endpoints.add(endpoint);
      }
      final String yaml = in.text("Welcome.configYaml");
      if (yaml == null) {
        return malformed(in.failure);
      }
      return ok(
          in,
          d.seq(),
          d.sender(),
          new Join.Welcome(d.runId(), d.rank(), d.worldSize(), d.pid(), endpoints, yaml));
    }
  }

  /** Coordinator to worker, tagged: another process holds the rank. */
  static final class RefusedCodec extends MessageCodec<Join.Refused> {
    private final JoinRefusedEncoder encoder = new JoinRefusedEncoder();
    private final JoinRefusedDecoder decoder = new JoinRefusedDecoder();

    RefusedCodec() {
      super(
          Join.Refused.class,
          "JoinRefused",
          JoinRefusedDecoder.TEMPLATE_ID,
          JoinRefusedDecoder.BLOCK_LENGTH,
          true);
    }

    @Override
    int sender(final Join.Refused m) {
      return Join.COORDINATOR;
    }

    @Override
    long length(final Join.Refused m) {
      return JoinRefusedEncoder.BLOCK_LENGTH + (long) textLength(m.reason(), "Join.Refused.reason");
    }

    @Override
    int write(
        final Join.Refused m,
        final long seq,
        final int sender,
        final MutableDirectBuffer buffer,
        final int offset,
        final MessageHeaderEncoder header) {
      final JoinRefusedEncoder e =
          encoder
              .wrapAndApplyHeader(buffer, offset, header)
              .runId(m.runId())
              .seq(seq)
              .sender(sender)
              .rank(m.rank())
              .pid(m.pid());
      e.limit(putText(buffer, e.limit(), m.reason()));
      return e.encodedLength();
    }

    @Override
    Decoded read(
        final DirectBuffer buffer,
        final int body,
        final int blockLength,
        final int version,
        final VarData.Reader in) {
      final JoinRefusedDecoder d = decoder.wrap(buffer, body, blockLength, version);
      if (d.sender() != Join.COORDINATOR) {
        return notFromCoordinator(d.sender());
      }
      final String reason = in.text("JoinRefused.reason");
      if (reason == null) {
        return malformed(in.failure);
      }
      return ok(in, d.seq(), d.sender(), new Join.Refused(d.runId(), d.rank(), d.pid(), reason));
    }
  }
}
