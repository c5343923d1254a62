package io.synctower.common.protocol;

import io.synctower.common.protocol.sbe.AbortDecoder;
import io.synctower.common.protocol.sbe.AbortEncoder;
import io.synctower.common.protocol.sbe.BnRecalibratedDecoder;
import io.synctower.common.protocol.sbe.BnRecalibratedEncoder;
import io.synctower.common.protocol.sbe.BooleanType;
import io.synctower.common.protocol.sbe.ChallengeDecoder;
import io.synctower.common.protocol.sbe.ChallengeEncoder;
import io.synctower.common.protocol.sbe.CheckpointDoneDecoder;
import io.synctower.common.protocol.sbe.CheckpointDoneEncoder;
import io.synctower.common.protocol.sbe.CheckpointRequestDecoder;
import io.synctower.common.protocol.sbe.CheckpointRequestEncoder;
import io.synctower.common.protocol.sbe.EvaluateDecoder;
import io.synctower.common.protocol.sbe.EvaluateEncoder;
import io.synctower.common.protocol.sbe.EvaluationDoneDecoder;
import io.synctower.common.protocol.sbe.EvaluationDoneEncoder;
import io.synctower.common.protocol.sbe.ExportWeightsRequestDecoder;
import io.synctower.common.protocol.sbe.ExportWeightsRequestEncoder;
import io.synctower.common.protocol.sbe.FailedDecoder;
import io.synctower.common.protocol.sbe.FailedEncoder;
import io.synctower.common.protocol.sbe.FailureCause;
import io.synctower.common.protocol.sbe.GroupSizeEncodingDecoder;
import io.synctower.common.protocol.sbe.HeartbeatDecoder;
import io.synctower.common.protocol.sbe.HeartbeatEncoder;
import io.synctower.common.protocol.sbe.JoinProofDecoder;
import io.synctower.common.protocol.sbe.JoinProofEncoder;
import io.synctower.common.protocol.sbe.JoinRefusedDecoder;
import io.synctower.common.protocol.sbe.JoinRefusedEncoder;
import io.synctower.common.protocol.sbe.JoinRequestDecoder;
import io.synctower.common.protocol.sbe.JoinRequestEncoder;
import io.synctower.common.protocol.sbe.MessageHeaderDecoder;
import io.synctower.common.protocol.sbe.MessageHeaderEncoder;
import io.synctower.common.protocol.sbe.RecalibrateBnRequestDecoder;
import io.synctower.common.protocol.sbe.RecalibrateBnRequestEncoder;
import io.synctower.common.protocol.sbe.ReduceFrameDecoder;
import io.synctower.common.protocol.sbe.RestoreRequestDecoder;
import io.synctower.common.protocol.sbe.RestoreRequestEncoder;
import io.synctower.common.protocol.sbe.ShutdownDecoder;
import io.synctower.common.protocol.sbe.ShutdownEncoder;
import io.synctower.common.protocol.sbe.StepDoneDecoder;
import io.synctower.common.protocol.sbe.StepDoneEncoder;
import io.synctower.common.protocol.sbe.TrainStepDecoder;
import io.synctower.common.protocol.sbe.TrainStepEncoder;
import io.synctower.common.protocol.sbe.VarStringEncodingDecoder;
import io.synctower.common.protocol.sbe.WelcomeDecoder;
import io.synctower.common.protocol.sbe.WelcomeEncoder;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import javax.crypto.Mac;
import javax.crypto.ShortBufferException;
import javax.crypto.spec.SecretKeySpec;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

/**
 * Encodes {@link Message}s as SBE control frames ({@code src/main/sbe/synctower.xml}) and decodes
 * received frames back, authenticating them with the run's secret.
 *
 * <p>A frame is the 8-byte message header, the message, and, for every type except the three
 * handshake messages {@link Join.Request}, {@link Join.Challenge} and {@link Join.Proof}, a {@value
 * #TAG_LENGTH}-byte HMAC-SHA256 tag (key: the run's secret) over the header and the message. The
 * handshake proves the secret by itself ({@link JoinAuth}).
 *
 * <p>The receiving thread's loop, with Aeron's fragment handler:
 *
 * <pre>{@code
 * ControlCodec codec = new ControlCodec(secret);          // one per thread
 * FragmentHandler handler = (buffer, offset, length, header) -> {
 *   Decoded d = codec.decode(buffer, offset, length);     // never throws for any bytes
 *   if (d instanceof Decoded.Ok ok && gate.check(ok) == null) {
 *     handle(ok.message());
 *   } else if (d instanceof Decoded.Rejected r) {
 *     gate.countDecodeFailure(r.reason());
 *   }
 * };
 * // sending: claim ControlCodec.encodedLength(message) bytes, or encode into a reused buffer
 * int length = codec.encode(message, ++seq, sendBuffer, 0);
 * publication.offer(sendBuffer, 0, length);
 * }</pre>
 *
 * <p><b>Threads and memory.</b> Not thread-safe: every thread that encodes or decodes holds its own
 * codec, which owns its SBE flyweights, its {@link Mac} and its scratch arrays, so a frame costs no
 * allocation beyond the decoded message itself (its record, strings and arrays). Its flyweights
 * keep pointing at the last buffer passed in, but nothing reads or writes it after a call returns;
 * decoded messages copy what they hold, so the caller may reuse its buffer at once. Scratch arrays
 * grow to the longest string decoded (at most {@value #MAX_TEXT_BYTES} bytes) and stay.
 *
 * <p><b>What decode accepts.</b> Exactly the frames {@link #encode} writes: schema id {@value
 * #SCHEMA_ID}, version {@value #SCHEMA_VERSION}, each message's own block length (larger ones are
 * refused: see below), lengths and counts inside the frame, enum codes the schema defines, UTF-8
 * text, the sender the mapping below gives, the tag where the type has one, and nothing after the
 * message or its tag. So {@code decode(encode(m, seq))} is {@code Ok(seq, senderOf(m), m)}, and
 * every {@code Ok} re-encodes to the very bytes it came from.
 *
 * <p><b>Forward compatibility: none on purpose.</b> SBE lets a reader skip a longer block written
 * by a newer schema version; this codec refuses any version but its own and any block length but
 * its own. All processes of a run are started from one build by one launcher, so a mismatch is a
 * deployment mistake to refuse at the join, with a rejection naming both versions, not a run that
 * half-works; and a strict reader leaves no unread bytes in the frames nobody authenticates. Adding
 * a field means bumping the schema version and redeploying every process.
 *
 * <p><b>Sender mapping.</b> The {@code sender} field is derived from the message ({@link
 * #senderOf}): a {@link Command}, a {@link Join.Challenge}, a {@link Join.Welcome} and a {@link
 * Join.Refused} are sent by {@link Join#COORDINATOR}; a {@link Report} by its {@code rank()}; a
 * {@link Heartbeat} by its {@code sender()}; a {@link Join.Request} and a {@link Join.Proof} by
 * their {@code rank()}. {@link Command.ExportWeights} travels as the schema's {@code
 * ExportWeightsRequest}, {@link Command.Restore} as {@code RestoreRequest}, {@link
 * Command.Checkpoint} as {@code CheckpointRequest} and {@link Command.RecalibrateBn} as {@code
 * RecalibrateBnRequest}.
 */
public final class ControlCodec {
  /** Bytes of the HMAC-SHA256 tag after every authenticated message. */
  public static final int TAG_LENGTH = 32;

  /**
   * The longest frame this codec encodes or accepts: 2 MiB, the largest message Aeron takes with
   * its default 16 MiB term ({@code termLength / 8}). Room for a Welcome with a 1 MiB configuration
   * and a thousand peers; size send buffers with {@link #encodedLength(Message)}.
   */
  public static final int MAX_ENCODED_LENGTH = 2 * 1024 * 1024;

  /** The longest UTF-8 text of any string field, from the schema's {@code varStringEncoding}. */
  public static final int MAX_TEXT_BYTES = 1024 * 1024;

  /** Bytes of the SBE message header in front of every message. */
  public static final int HEADER_LENGTH = MessageHeaderEncoder.ENCODED_LENGTH;

  /** The schema id every frame carries. */
  public static final int SCHEMA_ID = MessageHeaderEncoder.SCHEMA_ID;

  /** The only schema version this build reads and writes. */
  public static final int SCHEMA_VERSION = MessageHeaderEncoder.SCHEMA_VERSION;

  private static final ByteOrder ORDER = ByteOrder.LITTLE_ENDIAN;
  private static final int TEXT_HEADER = VarStringEncodingDecoder.lengthEncodingLength();
  private static final String HMAC = "HmacSHA256";

  private static final Report.Cause[] CAUSES = Report.Cause.values();

  /** The schema's FailureCause of each Report.Cause, by ordinal; matched by name. */
  private static final FailureCause[] CAUSE_CODES = new FailureCause[CAUSES.length];

  static {
    if (VarStringEncodingDecoder.lengthMaxValue() != MAX_TEXT_BYTES) {
      throw new IllegalStateException("synctower.xml changed the text limit: update ControlCodec");
    }
    for (final Report.Cause cause : CAUSES) {
      try {
        CAUSE_CODES[cause.ordinal()] = FailureCause.valueOf(cause.name());
      } catch (final IllegalArgumentException e) {
        throw new IllegalStateException(
            "synctower.xml's FailureCause lacks Report.Cause." + cause + ": add it", e);
      }
    }
  }

  /** Every control message of the schema, with what decode needs before reading it. */
  private enum Kind {
    JOIN_REQUEST(
        "JoinRequest", JoinRequestDecoder.TEMPLATE_ID, JoinRequestDecoder.BLOCK_LENGTH, false),
    CHALLENGE("Challenge", ChallengeDecoder.TEMPLATE_ID, ChallengeDecoder.BLOCK_LENGTH, false),
    JOIN_PROOF("JoinProof", JoinProofDecoder.TEMPLATE_ID, JoinProofDecoder.BLOCK_LENGTH, false),
    WELCOME("Welcome", WelcomeDecoder.TEMPLATE_ID, WelcomeDecoder.BLOCK_LENGTH, true),
    JOIN_REFUSED(
        "JoinRefused", JoinRefusedDecoder.TEMPLATE_ID, JoinRefusedDecoder.BLOCK_LENGTH, true),
    TRAIN_STEP("TrainStep", TrainStepDecoder.TEMPLATE_ID, TrainStepDecoder.BLOCK_LENGTH, true),
    EVALUATE("Evaluate", EvaluateDecoder.TEMPLATE_ID, EvaluateDecoder.BLOCK_LENGTH, true),
    SHUTDOWN("Shutdown", ShutdownDecoder.TEMPLATE_ID, ShutdownDecoder.BLOCK_LENGTH, true),
    ABORT("Abort", AbortDecoder.TEMPLATE_ID, AbortDecoder.BLOCK_LENGTH, true),
    EXPORT_WEIGHTS_REQUEST(
        "ExportWeightsRequest",
        ExportWeightsRequestDecoder.TEMPLATE_ID,
        ExportWeightsRequestDecoder.BLOCK_LENGTH,
        true),
    RESTORE_REQUEST(
        "RestoreRequest",
        RestoreRequestDecoder.TEMPLATE_ID,
        RestoreRequestDecoder.BLOCK_LENGTH,
        true),
    CHECKPOINT_REQUEST(
        "CheckpointRequest",
        CheckpointRequestDecoder.TEMPLATE_ID,
        CheckpointRequestDecoder.BLOCK_LENGTH,
        true),
    RECALIBRATE_BN_REQUEST(
        "RecalibrateBnRequest",
        RecalibrateBnRequestDecoder.TEMPLATE_ID,
        RecalibrateBnRequestDecoder.BLOCK_LENGTH,
        true),
    HEARTBEAT("Heartbeat", HeartbeatDecoder.TEMPLATE_ID, HeartbeatDecoder.BLOCK_LENGTH, true),
    STEP_DONE("StepDone", StepDoneDecoder.TEMPLATE_ID, StepDoneDecoder.BLOCK_LENGTH, true),
    EVALUATION_DONE(
        "EvaluationDone",
        EvaluationDoneDecoder.TEMPLATE_ID,
        EvaluationDoneDecoder.BLOCK_LENGTH,
        true),
    FAILED("Failed", FailedDecoder.TEMPLATE_ID, FailedDecoder.BLOCK_LENGTH, true),
    CHECKPOINT_DONE(
        "CheckpointDone",
        CheckpointDoneDecoder.TEMPLATE_ID,
        CheckpointDoneDecoder.BLOCK_LENGTH,
        true),
    BN_RECALIBRATED(
        "BnRecalibrated",
        BnRecalibratedDecoder.TEMPLATE_ID,
        BnRecalibratedDecoder.BLOCK_LENGTH,
        true);

    private static final Kind[] ALL = values();

    final String schemaName;
    final int templateId;
    final int blockLength;
    final boolean authenticated;

    Kind(
        final String schemaName,
        final int templateId,
        final int blockLength,
        final boolean authenticated) {
      this.schemaName = schemaName;
      this.templateId = templateId;
      this.blockLength = blockLength;
      this.authenticated = authenticated;
    }

    /** The message's name in synctower.xml, for rejection details. */
    @Override
    public String toString() {
      return schemaName;
    }

    /** The kind of a template id, or null for one that is not a control message. */
    static Kind of(final int templateId) {
      for (final Kind k : ALL) {
        if (k.templateId == templateId) {
          return k;
        }
      }
      return null;
    }
  }

  private final Mac mac;
  private final byte[] chunk = new byte[4096];
  private final byte[] computedTag = new byte[TAG_LENGTH];
  private final byte[] receivedTag = new byte[TAG_LENGTH];
  private final Reader reader = new Reader();
  private long backstopHits;

  private final MessageHeaderEncoder headerEncoder = new MessageHeaderEncoder();
  private final JoinRequestEncoder joinRequestEncoder = new JoinRequestEncoder();
  private final ChallengeEncoder challengeEncoder = new ChallengeEncoder();
  private final JoinProofEncoder joinProofEncoder = new JoinProofEncoder();
  private final WelcomeEncoder welcomeEncoder = new WelcomeEncoder();
  private final JoinRefusedEncoder joinRefusedEncoder = new JoinRefusedEncoder();
  private final TrainStepEncoder trainStepEncoder = new TrainStepEncoder();
  private final EvaluateEncoder evaluateEncoder = new EvaluateEncoder();
  private final ShutdownEncoder shutdownEncoder = new ShutdownEncoder();
  private final AbortEncoder abortEncoder = new AbortEncoder();
  private final ExportWeightsRequestEncoder exportWeightsRequestEncoder =
      new ExportWeightsRequestEncoder();
  private final RestoreRequestEncoder restoreRequestEncoder = new RestoreRequestEncoder();
  private final CheckpointRequestEncoder checkpointRequestEncoder = new CheckpointRequestEncoder();
  private final RecalibrateBnRequestEncoder recalibrateBnRequestEncoder =
      new RecalibrateBnRequestEncoder();
  private final HeartbeatEncoder heartbeatEncoder = new HeartbeatEncoder();
  private final StepDoneEncoder stepDoneEncoder = new StepDoneEncoder();
  private final EvaluationDoneEncoder evaluationDoneEncoder = new EvaluationDoneEncoder();
  private final FailedEncoder failedEncoder = new FailedEncoder();
  private final CheckpointDoneEncoder checkpointDoneEncoder = new CheckpointDoneEncoder();
  private final BnRecalibratedEncoder bnRecalibratedEncoder = new BnRecalibratedEncoder();

  private final MessageHeaderDecoder headerDecoder = new MessageHeaderDecoder();
  private final GroupSizeEncodingDecoder groupDecoder = new GroupSizeEncodingDecoder();
  private final JoinRequestDecoder joinRequestDecoder = new JoinRequestDecoder();
  private final ChallengeDecoder challengeDecoder = new ChallengeDecoder();
  private final JoinProofDecoder joinProofDecoder = new JoinProofDecoder();
  private final WelcomeDecoder welcomeDecoder = new WelcomeDecoder();
  private final JoinRefusedDecoder joinRefusedDecoder = new JoinRefusedDecoder();
  private final TrainStepDecoder trainStepDecoder = new TrainStepDecoder();
  private final EvaluateDecoder evaluateDecoder = new EvaluateDecoder();
  private final ShutdownDecoder shutdownDecoder = new ShutdownDecoder();
  private final AbortDecoder abortDecoder = new AbortDecoder();
  private final ExportWeightsRequestDecoder exportWeightsRequestDecoder =
      new ExportWeightsRequestDecoder();
  private final RestoreRequestDecoder restoreRequestDecoder = new RestoreRequestDecoder();
  private final CheckpointRequestDecoder checkpointRequestDecoder = new CheckpointRequestDecoder();
  private final RecalibrateBnRequestDecoder recalibrateBnRequestDecoder =
      new RecalibrateBnRequestDecoder();
  private final HeartbeatDecoder heartbeatDecoder = new HeartbeatDecoder();
  private final StepDoneDecoder stepDoneDecoder = new StepDoneDecoder();
  private final EvaluationDoneDecoder evaluationDoneDecoder = new EvaluationDoneDecoder();
  private final FailedDecoder failedDecoder = new FailedDecoder();
  private final CheckpointDoneDecoder checkpointDoneDecoder = new CheckpointDoneDecoder();
  private final BnRecalibratedDecoder bnRecalibratedDecoder = new BnRecalibratedDecoder();

  /**
   * @param secret the run's secret, at least {@value JoinAuth#MIN_SECRET_BYTES} bytes ({@link
   *     JoinAuth#readSecret}); copied, so later changes to the array do not reach the codec
   * @throws IllegalArgumentException if the secret is shorter
   */
  public ControlCodec(final byte[] secret) {
    JoinAuth.requireSecret(secret);
    try {
      mac = Mac.getInstance(HMAC);
      mac.init(new SecretKeySpec(secret.clone(), HMAC));
    } catch (final NoSuchAlgorithmException | InvalidKeyException e) {
      throw new IllegalStateException("this JVM has no usable " + HMAC, e);
    }
  }

  /**
   * The sender id a message travels with: {@link Join#COORDINATOR} for a {@link Command}, a {@link
   * Join.Challenge} and a {@link Join.Welcome}; the rank for a {@link Report}, a {@link
   * Join.Request} and a {@link Join.Proof}; {@link Heartbeat#sender()} for a heartbeat.
   */
  public static int senderOf(final Message message) {
    Objects.requireNonNull(message, "message");
    if (message instanceof Command) {
      return Join.COORDINATOR;
    } else if (message instanceof Report r) {
      return r.rank();
    } else if (message instanceof Heartbeat h) {
      return h.sender();
    } else if (message instanceof Join.Request r) {
      return r.rank();
    } else if (message instanceof Join.Proof p) {
      return p.rank();
    } else if (message instanceof Join.Challenge
        || message instanceof Join.Welcome
        || message instanceof Join.Refused) {
      return Join.COORDINATOR;
    }
    throw new IllegalArgumentException("not a control message: " + message.getClass());
  }

  private static boolean authenticated(final Message message) {
    return !(message instanceof Join.Request
        || message instanceof Join.Challenge
        || message instanceof Join.Proof);
  }

  /**
   * The exact number of bytes {@link #encode} writes for {@code message}: header, message and tag.
   * Allocates nothing; runs through every string once.
   *
   * @throws IllegalArgumentException if the message cannot be encoded, for the reasons {@link
   *     #encode} gives
   * @throws NullPointerException if a string, array or enum of the message is null
   */
  public static int encodedLength(final Message message) {
    Objects.requireNonNull(message, "message");
    long length = HEADER_LENGTH + (authenticated(message) ? TAG_LENGTH : 0);
    if (message instanceof Join.Request m) {
      length += JoinRequestEncoder.BLOCK_LENGTH;
      length += text(m.host(), "Join.Request.host");
      length += text(m.controlEndpoint(), "Join.Request.controlEndpoint");
      length += text(m.dataEndpoint(), "Join.Request.dataEndpoint");
    } else if (message instanceof Join.Challenge m) {
      digest(m.nonce(), "Join.Challenge.nonce");
      length += ChallengeEncoder.BLOCK_LENGTH;
    } else if (message instanceof Join.Proof m) {
      digest(m.proof(), "Join.Proof.proof");
      length += JoinProofEncoder.BLOCK_LENGTH;
    } else if (message instanceof Join.Welcome m) {
      final int peers = m.dataEndpoints().size();
      if (peers > WelcomeEncoder.PeersEncoder.countMaxValue()) {
        throw new IllegalArgumentException(
            "Join.Welcome has "
                + peers
                + " data endpoints; the schema's group holds at most "
                + WelcomeEncoder.PeersEncoder.countMaxValue());
      }
      length += WelcomeEncoder.BLOCK_LENGTH + WelcomeEncoder.PeersEncoder.sbeHeaderSize();
      for (final String endpoint : m.dataEndpoints()) {
        length += WelcomeEncoder.PeersEncoder.sbeBlockLength();
        length += text(endpoint, "Join.Welcome.dataEndpoints");
      }
      length += text(m.configYaml(), "Join.Welcome.configYaml");
    } else if (message instanceof Join.Refused m) {
      length += JoinRefusedEncoder.BLOCK_LENGTH;
      length += text(m.reason(), "Join.Refused.reason");
    } else if (message instanceof Command.TrainStep) {
      length += TrainStepEncoder.BLOCK_LENGTH;
    } else if (message instanceof Command.Evaluate m) {
      Objects.requireNonNull(m.dataset(), "Command.Evaluate.dataset");
      length += EvaluateEncoder.BLOCK_LENGTH;
    } else if (message instanceof Command.Shutdown) {
      length += ShutdownEncoder.BLOCK_LENGTH;
    } else if (message instanceof Command.Abort m) {
      length += AbortEncoder.BLOCK_LENGTH + text(m.reason(), "Command.Abort.reason");
    } else if (message instanceof Command.ExportWeights m) {
      length +=
          ExportWeightsRequestEncoder.BLOCK_LENGTH + text(m.path(), "Command.ExportWeights.path");
    } else if (message instanceof Command.Restore m) {
      length += RestoreRequestEncoder.BLOCK_LENGTH + text(m.path(), "Command.Restore.path");
    } else if (message instanceof Command.Checkpoint m) {
      length += CheckpointRequestEncoder.BLOCK_LENGTH;
      length += text(m.directory(), "Command.Checkpoint.directory");
      length += text(m.trainerState(), "Command.Checkpoint.trainerState");
    } else if (message instanceof Command.RecalibrateBn) {
      length += RecalibrateBnRequestEncoder.BLOCK_LENGTH;
    } else if (message instanceof Heartbeat) {
      length += HeartbeatEncoder.BLOCK_LENGTH;
    } else if (message instanceof Report.StepDone m) {
      length += StepDoneEncoder.BLOCK_LENGTH + text(m.nonFinite(), "Report.StepDone.nonFinite");
    } else if (message instanceof Report.EvaluationDone) {
      length += EvaluationDoneEncoder.BLOCK_LENGTH;
    } else if (message instanceof Report.Failed m) {
      Objects.requireNonNull(m.cause(), "Report.Failed.cause");
      length += FailedEncoder.BLOCK_LENGTH + text(m.message(), "Report.Failed.message");
    } else if (message instanceof Report.CheckpointDone m) {
      length += CheckpointDoneEncoder.BLOCK_LENGTH + text(m.path(), "Report.CheckpointDone.path");
    } else if (message instanceof Report.BnRecalibrated m) {
      final int layers = m.layers().size();
      if (layers > BnRecalibratedEncoder.LayersEncoder.countMaxValue()) {
        throw new IllegalArgumentException(
            "Report.BnRecalibrated has "
                + layers
                + " layers; the schema's group holds at most "
                + BnRecalibratedEncoder.LayersEncoder.countMaxValue());
      }
      length +=
          BnRecalibratedEncoder.BLOCK_LENGTH
              + BnRecalibratedEncoder.LayersEncoder.sbeHeaderSize()
              + (long) layers * BnRecalibratedEncoder.LayersEncoder.sbeBlockLength();
    } else {
      throw new IllegalArgumentException("not a control message: " + message.getClass());
    }
    if (length > MAX_ENCODED_LENGTH) {
      throw new IllegalArgumentException(
          message.getClass().getSimpleName()
              + " encodes to "
              + length
              + " bytes, more than MAX_ENCODED_LENGTH ("
              + MAX_ENCODED_LENGTH
              + ")");
    }
    return (int) length;
  }

  private static int text(final String s, final String field) {
    Objects.requireNonNull(s, field);
    final int bytes = Utf8.length(s, field);
    if (bytes > MAX_TEXT_BYTES) {
      throw new IllegalArgumentException(
          field + " is " + bytes + " bytes of UTF-8; the schema allows " + MAX_TEXT_BYTES);
    }
    return TEXT_HEADER + bytes;
  }

  private static void digest(final byte[] bytes, final String field) {
    Objects.requireNonNull(bytes, field);
    if (bytes.length != TAG_LENGTH) {
      throw new IllegalArgumentException(
          field + " must be " + TAG_LENGTH + " bytes, got " + bytes.length);
    }
  }

  /**
   * Writes {@code message} as one frame at {@code offset}: header, message with {@code seq} and the
   * sender {@link #senderOf} gives, then the tag unless it is a handshake message. Writes only the
   * returned number of bytes from {@code offset}; nothing when it throws.
   *
   * @param seq the sender's sequence number: each sender counts up, so receivers can drop replays
   * @param buffer where to write; an expandable buffer grows, any other must have room
   * @return the frame's length, {@link #encodedLength(Message)}
   * @throws IllegalArgumentException if a string has more than {@value #MAX_TEXT_BYTES} bytes of
   *     UTF-8 or an unpaired surrogate, a nonce or proof is not {@value #TAG_LENGTH} bytes, a
   *     Welcome has more peers than the schema's group holds, the frame would exceed {@value
   *     #MAX_ENCODED_LENGTH} bytes, or the buffer has no room from {@code offset}
   * @throws NullPointerException if the message, the buffer, or a string, array or enum of the
   *     message is null
   */
  public int encode(
      final Message message, final long seq, final MutableDirectBuffer buffer, final int offset) {
    Objects.requireNonNull(buffer, "buffer");
    final int length = encodedLength(message);
    if (offset < 0 || (!buffer.isExpandable() && (long) offset + length > buffer.capacity())) {
      throw new IllegalArgumentException(
          "a "
              + length
              + "-byte "
              + message.getClass().getSimpleName()
              + " does not fit at offset "
              + offset
              + " of a buffer of "
              + buffer.capacity()
              + " bytes");
    }
    final int sbeLength = HEADER_LENGTH + encodeMessage(message, seq, buffer, offset);
    if (authenticated(message)) {
      tag(buffer, offset, sbeLength, computedTag);
      buffer.putBytes(offset + sbeLength, computedTag);
      return sbeLength + TAG_LENGTH;
    }
    return sbeLength;
  }

  /** Writes header and message; returns the message's length after the header. */
  private int encodeMessage(
      final Message message, final long seq, final MutableDirectBuffer buffer, final int offset) {
    final int sender = senderOf(message);
    if (message instanceof Join.Request m) {
      final JoinRequestEncoder e =
          joinRequestEncoder
              .wrapAndApplyHeader(buffer, offset, headerEncoder)
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
    } else if (message instanceof Join.Challenge m) {
      return challengeEncoder
          .wrapAndApplyHeader(buffer, offset, headerEncoder)
          .runId(m.runId())
          .seq(seq)
          .sender(sender)
          .rank(m.rank())
          .putNonce(m.nonce(), 0, TAG_LENGTH)
          .pid(m.pid())
          .encodedLength();
    } else if (message instanceof Join.Proof m) {
      return joinProofEncoder
          .wrapAndApplyHeader(buffer, offset, headerEncoder)
          .runId(m.runId())
          .seq(seq)
          .sender(sender)
          .putProof(m.proof(), 0, TAG_LENGTH)
          .encodedLength();
    } else if (message instanceof Join.Welcome m) {
      final WelcomeEncoder e =
          welcomeEncoder
              .wrapAndApplyHeader(buffer, offset, headerEncoder)
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
    } else if (message instanceof Join.Refused m) {
      final JoinRefusedEncoder e =
          joinRefusedEncoder
              .wrapAndApplyHeader(buffer, offset, headerEncoder)
              .runId(m.runId())
              .seq(seq)
              .sender(sender)
              .rank(m.rank())
              .pid(m.pid());
      e.limit(putText(buffer, e.limit(), m.reason()));
      return e.encodedLength();
    } else if (message instanceof Command.TrainStep m) {
      return trainStepEncoder
          .wrapAndApplyHeader(buffer, offset, headerEncoder)
          .runId(m.runId())
          .seq(seq)
          .sender(sender)
          .epoch(m.epoch())
          .batchInEpoch(m.batchInEpoch())
          .step(m.step())
          .learningRate(m.learningRate())
          .reportHash(m.reportHash() ? BooleanType.TRUE : BooleanType.FALSE)
          .encodedLength();
    } else if (message instanceof Command.Evaluate m) {
      return evaluateEncoder
          .wrapAndApplyHeader(buffer, offset, headerEncoder)
          .runId(m.runId())
          .seq(seq)
          .sender(sender)
          .dataset(
              m.dataset() == Command.DatasetRole.TRAIN
                  ? io.synctower.common.protocol.sbe.DatasetRole.TRAIN
                  : io.synctower.common.protocol.sbe.DatasetRole.VALIDATION)
          .encodedLength();
    } else if (message instanceof Command.Shutdown m) {
      return shutdownEncoder
          .wrapAndApplyHeader(buffer, offset, headerEncoder)
          .runId(m.runId())
          .seq(seq)
          .sender(sender)
          .encodedLength();
    } else if (message instanceof Command.Abort m) {
      final AbortEncoder e =
          abortEncoder
              .wrapAndApplyHeader(buffer, offset, headerEncoder)
              .runId(m.runId())
              .seq(seq)
              .sender(sender)
              .step(m.step())
              .culprit(m.culprit());
      e.limit(putText(buffer, e.limit(), m.reason()));
      return e.encodedLength();
    } else if (message instanceof Command.ExportWeights m) {
      final ExportWeightsRequestEncoder e =
          exportWeightsRequestEncoder
              .wrapAndApplyHeader(buffer, offset, headerEncoder)
              .runId(m.runId())
              .seq(seq)
              .sender(sender)
              .step(m.step());
      e.limit(putText(buffer, e.limit(), m.path()));
      return e.encodedLength();
    } else if (message instanceof Command.Restore m) {
      final RestoreRequestEncoder e =
          restoreRequestEncoder
              .wrapAndApplyHeader(buffer, offset, headerEncoder)
              .runId(m.runId())
              .seq(seq)
              .sender(sender);
      e.limit(putText(buffer, e.limit(), m.path()));
      return e.encodedLength();
    } else if (message instanceof Command.Checkpoint m) {
      final CheckpointRequestEncoder e =
          checkpointRequestEncoder
              .wrapAndApplyHeader(buffer, offset, headerEncoder)
              .runId(m.runId())
              .seq(seq)
              .sender(sender)
              .step(m.step())
              .keep(m.keep())
              .awaitWrite(m.awaitWrite() ? BooleanType.TRUE : BooleanType.FALSE);
      e.limit(putText(buffer, e.limit(), m.directory()));
      e.limit(putText(buffer, e.limit(), m.trainerState()));
      return e.encodedLength();
    } else if (message instanceof Command.RecalibrateBn m) {
      return recalibrateBnRequestEncoder
          .wrapAndApplyHeader(buffer, offset, headerEncoder)
          .runId(m.runId())
          .seq(seq)
          .sender(sender)
          .batches(m.batches())
          .round(m.round())
          .encodedLength();
    } else if (message instanceof Heartbeat m) {
      return heartbeatEncoder
          .wrapAndApplyHeader(buffer, offset, headerEncoder)
          .runId(m.runId())
          .seq(seq)
          .sender(sender)
          .sentEpochMillis(m.sentEpochMillis())
          .encodedLength();
    } else if (message instanceof Report.StepDone m) {
      final StepDoneEncoder e =
          stepDoneEncoder
              .wrapAndApplyHeader(buffer, offset, headerEncoder)
              .runId(m.runId())
              .seq(seq)
              .sender(sender)
              .step(m.step())
              .lossSum(m.lossSum())
              .correctPositions(m.correctPositions())
              .correctSequences(m.correctSequences())
              .samples(m.samples())
              .dataWaitNanos(m.dataWaitNanos())
              .forwardNanos(m.forwardNanos())
              .backwardNanos(m.backwardNanos())
              .allReduceNanos(m.allReduceNanos())
              .optimizerNanos(m.optimizerNanos())
              .replicaHash(m.replicaHash())
              .skipped(m.skipped() ? BooleanType.TRUE : BooleanType.FALSE)
              .bnReduceNanos(m.bnReduceNanos());
      e.limit(putText(buffer, e.limit(), m.nonFinite()));
      return e.encodedLength();
    } else if (message instanceof Report.EvaluationDone m) {
      return evaluationDoneEncoder
          .wrapAndApplyHeader(buffer, offset, headerEncoder)
          .runId(m.runId())
          .seq(seq)
          .sender(sender)
          .lossSum(m.lossSum())
          .correctPositions(m.correctPositions())
          .correctSequences(m.correctSequences())
          .samples(m.samples())
          .encodedLength();
    } else if (message instanceof Report.Failed m) {
      final FailedEncoder e =
          failedEncoder
              .wrapAndApplyHeader(buffer, offset, headerEncoder)
              .runId(m.runId())
              .seq(seq)
              .sender(sender)
              .step(m.step())
              .cause(CAUSE_CODES[m.cause().ordinal()]);
      e.limit(putText(buffer, e.limit(), m.message()));
      return e.encodedLength();
    } else if (message instanceof Report.CheckpointDone m) {
      final CheckpointDoneEncoder e =
          checkpointDoneEncoder
              .wrapAndApplyHeader(buffer, offset, headerEncoder)
              .runId(m.runId())
              .seq(seq)
              .sender(sender)
              .step(m.step());
      e.limit(putText(buffer, e.limit(), m.path()));
      return e.encodedLength();
    } else if (message instanceof Report.BnRecalibrated m) {
      final BnRecalibratedEncoder e =
          bnRecalibratedEncoder
              .wrapAndApplyHeader(buffer, offset, headerEncoder)
              .runId(m.runId())
              .seq(seq)
              .sender(sender)
              .batches(m.batches())
              .samples(m.samples())
              .replicaHash(m.replicaHash());
      final BnRecalibratedEncoder.LayersEncoder layers = e.layersCount(m.layers().size());
      for (final Report.Movement movement : m.layers()) {
        layers.next().meanShift(movement.meanShift()).varianceRatio(movement.varianceRatio());
      }
      return e.encodedLength();
    }
    throw new IllegalArgumentException("not a control message: " + message.getClass());
  }

  /** Writes a var-data string (uint32 length, UTF-8) at {@code limit}; returns the new limit. */
  private static int putText(final MutableDirectBuffer buffer, final int limit, final String s) {
    final int bytes = Utf8.put(buffer, limit + TEXT_HEADER, s);
    buffer.putInt(limit, bytes, ORDER);
    return limit + TEXT_HEADER + bytes;
  }

  /** HMAC-SHA256 of {@code [index, index + length)} into {@code out}, through a reused chunk. */
  private void tag(final DirectBuffer buffer, final int index, final int length, final byte[] out) {
    mac.reset(); // nothing left over from a call that failed half-way
    for (int done = 0; done < length; ) {
      final int n = Math.min(chunk.length, length - done);
      buffer.getBytes(index + done, chunk, 0, n);
      mac.update(chunk, 0, n);
      done += n;
    }
    try {
      mac.doFinal(out, 0);
    } catch (final ShortBufferException e) {
      throw new AssertionError("a 32-byte array holds an HMAC-SHA256", e);
    }
  }

  /**
   * Decodes and checks one frame. Never throws for any content of {@code [offset, offset +
   * length)}: every length, count and code is checked against the frame before it is used.
   *
   * <p>Order of the checks: header (size, schema id, version, template id, block length); then, for
   * an authenticated type, the tag, before any other byte is read; then the message's lengths,
   * counts, enum codes, text and sender; then that nothing follows the message (or its tag).
   *
   * <p>Allocates only for the result: the message's record, strings and arrays, or the rejection
   * and its detail.
   *
   * @return {@link Decoded.Ok} or {@link Decoded.Rejected} with {@link Rejection#MALFORMED}, {@link
   *     Rejection#UNKNOWN_TYPE} or {@link Rejection#BAD_TAG}
   * @throws IllegalArgumentException if {@code [offset, offset + length)} is not inside the buffer
   *     (a caller's bug, not bad input)
   */
  public Decoded decode(final DirectBuffer buffer, final int offset, final int length) {
    Objects.requireNonNull(buffer, "buffer");
    if (offset < 0 || length < 0 || (long) offset + length > buffer.capacity()) {
      throw new IllegalArgumentException(
          "frame [" + offset + ", +" + length + ") outside a buffer of " + buffer.capacity());
    }
    try {
      return decodeFrame(buffer, offset, length);
    } catch (final IndexOutOfBoundsException | IllegalStateException e) {
      // Backstop only: the checks above every read should make this unreachable (the fuzz tests
      // assert backstopHits() stays 0).
      backstopHits++;
      return rejected(Rejection.MALFORMED, "unchecked malformation: " + e.getMessage());
    }
  }

  /** How often decode fell through to its backstop; a test hook, 0 unless a check is missing. */
  long backstopHits() {
    return backstopHits;
  }

  private Decoded decodeFrame(final DirectBuffer buffer, final int offset, final int length) {
    if (length < HEADER_LENGTH) {
      return rejected(
          Rejection.MALFORMED,
          length + "-byte frame is shorter than the " + HEADER_LENGTH + "-byte message header");
    }
    if (length > MAX_ENCODED_LENGTH) {
      return rejected(
          Rejection.MALFORMED,
          length + "-byte frame is longer than MAX_ENCODED_LENGTH (" + MAX_ENCODED_LENGTH + ")");
    }
    final MessageHeaderDecoder header = headerDecoder.wrap(buffer, offset);
    if (header.schemaId() != SCHEMA_ID) {
      return rejected(
          Rejection.MALFORMED,
          "schema id " + header.schemaId() + ", expected " + SCHEMA_ID + ": not a SyncTower frame");
    }
    if (header.version() != SCHEMA_VERSION) {
      return rejected(
          Rejection.MALFORMED,
          "schema version "
              + header.version()
              + ", this build reads only "
              + SCHEMA_VERSION
              + ": run the coordinator and every worker from the same SyncTower build");
    }
    final int templateId = header.templateId();
    final Kind kind = Kind.of(templateId);
    if (kind == null) {
      return rejected(
          Rejection.UNKNOWN_TYPE,
          templateId == ReduceFrameDecoder.TEMPLATE_ID
              ? "a data-plane ReduceFrame on the control channel"
              : "template id " + templateId + " is not a control message");
    }
    final int blockLength = header.blockLength();
    if (blockLength != kind.blockLength) {
      return rejected(
          Rejection.MALFORMED,
          kind + " with block length " + blockLength + ", the schema's is " + kind.blockLength);
    }
    final int minimum = HEADER_LENGTH + blockLength + (kind.authenticated ? TAG_LENGTH : 0);
    if (length < minimum) {
      return rejected(
          Rejection.MALFORMED,
          length
              + "-byte "
              + kind
              + " is shorter than its fixed part"
              + (kind.authenticated ? " and tag (" : " (")
              + minimum
              + " bytes)");
    }
    int end = offset + length;
    if (kind.authenticated) {
      end -= TAG_LENGTH;
      tag(buffer, offset, end - offset, computedTag);
      buffer.getBytes(end, receivedTag, 0, TAG_LENGTH);
      if (!MessageDigest.isEqual(computedTag, receivedTag)) {
        return rejected(
            Rejection.BAD_TAG,
            kind + " tag does not match: the sender lacks the run's secret or the frame changed");
      }
    }
    final int body = offset + HEADER_LENGTH;
    reader.wrap(buffer, body + blockLength, end);
    final int version = header.version();
    return switch (kind) {
      case JOIN_REQUEST -> joinRequest(buffer, body, blockLength, version);
      case CHALLENGE -> challenge(buffer, body, blockLength, version);
      case JOIN_PROOF -> joinProof(buffer, body, blockLength, version);
      case WELCOME -> welcome(buffer, body, blockLength, version);
      case JOIN_REFUSED -> joinRefused(buffer, body, blockLength, version);
      case TRAIN_STEP -> trainStep(buffer, body, blockLength, version);
      case EVALUATE -> evaluate(buffer, body, blockLength, version);
      case SHUTDOWN -> shutdown(buffer, body, blockLength, version);
      case ABORT -> abort(buffer, body, blockLength, version);
      case EXPORT_WEIGHTS_REQUEST -> exportWeightsRequest(buffer, body, blockLength, version);
      case RESTORE_REQUEST -> restoreRequest(buffer, body, blockLength, version);
      case CHECKPOINT_REQUEST -> checkpointRequest(buffer, body, blockLength, version);
      case RECALIBRATE_BN_REQUEST -> recalibrateBnRequest(buffer, body, blockLength, version);
      case HEARTBEAT -> heartbeat(buffer, body, blockLength, version);
      case STEP_DONE -> stepDone(buffer, body, blockLength, version);
      case EVALUATION_DONE -> evaluationDone(buffer, body, blockLength, version);
      case FAILED -> failed(buffer, body, blockLength, version);
      case CHECKPOINT_DONE -> checkpointDone(buffer, body, blockLength, version);
      case BN_RECALIBRATED -> bnRecalibrated(buffer, body, blockLength, version);
    };
  }

  private Decoded joinRequest(
      final DirectBuffer buffer, final int body, final int blockLength, final int version) {
    final JoinRequestDecoder d = joinRequestDecoder.wrap(buffer, body, blockLength, version);
    if (d.runId() != 0) {
      return rejected(
          Rejection.MALFORMED, "JoinRequest with runId " + d.runId() + ": a request carries 0");
    }
    final String host = reader.text("JoinRequest.host");
    final String control = host == null ? null : reader.text("JoinRequest.controlEndpoint");
    final String data = control == null ? null : reader.text("JoinRequest.dataEndpoint");
    if (data == null) {
      return rejected(Rejection.MALFORMED, reader.failure);
    }
    return ok(
        d.seq(),
        d.sender(),
        new Join.Request(d.sender(), d.worldSize(), d.pid(), d.device(), host, control, data));
  }

  private Decoded challenge(
      final DirectBuffer buffer, final int body, final int blockLength, final int version) {
    final ChallengeDecoder d = challengeDecoder.wrap(buffer, body, blockLength, version);
    if (d.sender() != Join.COORDINATOR) {
      return notFromCoordinator(Kind.CHALLENGE, d.sender());
    }
    final byte[] nonce = new byte[ChallengeDecoder.nonceLength()];
    d.getNonce(nonce, 0, nonce.length);
    return ok(d.seq(), d.sender(), new Join.Challenge(d.runId(), d.rank(), nonce, d.pid()));
  }

  private Decoded joinProof(
      final DirectBuffer buffer, final int body, final int blockLength, final int version) {
    final JoinProofDecoder d = joinProofDecoder.wrap(buffer, body, blockLength, version);
    final byte[] proof = new byte[JoinProofDecoder.proofLength()];
    d.getProof(proof, 0, proof.length);
    return ok(d.seq(), d.sender(), new Join.Proof(d.runId(), d.sender(), proof));
  }

  private Decoded welcome(
      final DirectBuffer buffer, final int body, final int blockLength, final int version) {
    final WelcomeDecoder d = welcomeDecoder.wrap(buffer, body, blockLength, version);
    if (d.sender() != Join.COORDINATOR) {
      return notFromCoordinator(Kind.WELCOME, d.sender());
    }
    if (!reader.has(GroupSizeEncodingDecoder.ENCODED_LENGTH)) {
      return rejected(Rejection.MALFORMED, "Welcome ends inside the peers group header");
    }
    final GroupSizeEncodingDecoder group = groupDecoder.wrap(buffer, reader.pos);
    final int entryLength = WelcomeDecoder.PeersDecoder.sbeBlockLength();
    if (group.blockLength() != entryLength) {
      return rejected(
          Rejection.MALFORMED,
          "Welcome peers entries of "
              + group.blockLength()
              + " bytes, the schema's are "
              + entryLength);
    }
    final int count = group.numInGroup();
    reader.pos += GroupSizeEncodingDecoder.ENCODED_LENGTH;
    // Each entry has at least its block and a text length: check before allocating for the count.
    if (count > WelcomeDecoder.PeersDecoder.countMaxValue()) {
      return rejected(
          Rejection.MALFORMED,
          "Welcome claims "
              + count
              + " peers; the schema's group holds at most "
              + WelcomeDecoder.PeersDecoder.countMaxValue());
    }
    if ((long) count * (entryLength + TEXT_HEADER) > reader.remaining()) {
      return rejected(
          Rejection.MALFORMED,
          "Welcome claims "
              + count
              + " peers, more than its "
              + reader.remaining()
              + " bytes hold");
    }
    final List<String> endpoints = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      final int rank =
          buffer.getInt(reader.pos + WelcomeDecoder.PeersDecoder.rankEncodingOffset(), ORDER);
      if (rank != i) {
        return rejected(
            Rejection.MALFORMED,
            "Welcome peer entry " + i + " has rank " + rank + ": entries must be ranks 0..n-1");
      }
      reader.pos += entryLength;
      final String endpoint = reader.text("Welcome peer dataEndpoint");
      if (endpoint == null) {
        return rejected(Rejection.MALFORMED, reader.failure + " (peer " + i + ")");
      }
      endpoints.add(endpoint);
    }
    final String yaml = reader.text("Welcome.configYaml");
    if (yaml == null) {
      return rejected(Rejection.MALFORMED, reader.failure);
    }
    return ok(
        d.seq(),
        d.sender(),
        new Join.Welcome(d.runId(), d.rank(), d.worldSize(), d.pid(), endpoints, yaml));
  }

  private Decoded joinRefused(
      final DirectBuffer buffer, final int body, final int blockLength, final int version) {
    final JoinRefusedDecoder d = joinRefusedDecoder.wrap(buffer, body, blockLength, version);
    if (d.sender() != Join.COORDINATOR) {
      return notFromCoordinator(Kind.JOIN_REFUSED, d.sender());
    }
    final String reason = reader.text("JoinRefused.reason");
    if (reason == null) {
      return rejected(Rejection.MALFORMED, reader.failure);
    }
    return ok(d.seq(), d.sender(), new Join.Refused(d.runId(), d.rank(), d.pid(), reason));
  }

  private Decoded trainStep(
      final DirectBuffer buffer, final int body, final int blockLength, final int version) {
    final TrainStepDecoder d = trainStepDecoder.wrap(buffer, body, blockLength, version);
    if (d.sender() != Join.COORDINATOR) {
      return notFromCoordinator(Kind.TRAIN_STEP, d.sender());
    }
    final short reportHash = d.reportHashRaw();
    if (!isBoolean(reportHash)) {
      return badCode("TrainStep.reportHash", reportHash);
    }
    return ok(
        d.seq(),
        d.sender(),
        new Command.TrainStep(
            d.runId(),
            d.epoch(),
            d.batchInEpoch(),
            d.step(),
            d.learningRate(),
            reportHash == BooleanType.TRUE.value()));
  }

  private Decoded evaluate(
      final DirectBuffer buffer, final int body, final int blockLength, final int version) {
    final EvaluateDecoder d = evaluateDecoder.wrap(buffer, body, blockLength, version);
    if (d.sender() != Join.COORDINATOR) {
      return notFromCoordinator(Kind.EVALUATE, d.sender());
    }
    final short code = d.datasetRaw();
    final Command.DatasetRole role;
    if (code == io.synctower.common.protocol.sbe.DatasetRole.TRAIN.value()) {
      role = Command.DatasetRole.TRAIN;
    } else if (code == io.synctower.common.protocol.sbe.DatasetRole.VALIDATION.value()) {
      role = Command.DatasetRole.VALIDATION;
    } else {
      return badCode("Evaluate.dataset", code);
    }
    return ok(d.seq(), d.sender(), new Command.Evaluate(d.runId(), role));
  }

  private Decoded shutdown(
      final DirectBuffer buffer, final int body, final int blockLength, final int version) {
    final ShutdownDecoder d = shutdownDecoder.wrap(buffer, body, blockLength, version);
    if (d.sender() != Join.COORDINATOR) {
      return notFromCoordinator(Kind.SHUTDOWN, d.sender());
    }
    return ok(d.seq(), d.sender(), new Command.Shutdown(d.runId()));
  }

  private Decoded abort(
      final DirectBuffer buffer, final int body, final int blockLength, final int version) {
    final AbortDecoder d = abortDecoder.wrap(buffer, body, blockLength, version);
    if (d.sender() != Join.COORDINATOR) {
      return notFromCoordinator(Kind.ABORT, d.sender());
    }
    final String reason = reader.text("Abort.reason");
    if (reason == null) {
      return rejected(Rejection.MALFORMED, reader.failure);
    }
    return ok(d.seq(), d.sender(), new Command.Abort(d.runId(), d.step(), d.culprit(), reason));
  }

  private Decoded exportWeightsRequest(
      final DirectBuffer buffer, final int body, final int blockLength, final int version) {
    final ExportWeightsRequestDecoder d =
        exportWeightsRequestDecoder.wrap(buffer, body, blockLength, version);
    if (d.sender() != Join.COORDINATOR) {
      return notFromCoordinator(Kind.EXPORT_WEIGHTS_REQUEST, d.sender());
    }
    final String path = reader.text("ExportWeightsRequest.path");
    if (path == null) {
      return rejected(Rejection.MALFORMED, reader.failure);
    }
    return ok(d.seq(), d.sender(), new Command.ExportWeights(d.runId(), d.step(), path));
  }

  private Decoded restoreRequest(
      final DirectBuffer buffer, final int body, final int blockLength, final int version) {
    final RestoreRequestDecoder d = restoreRequestDecoder.wrap(buffer, body, blockLength, version);
    if (d.sender() != Join.COORDINATOR) {
      return notFromCoordinator(Kind.RESTORE_REQUEST, d.sender());
    }
    final String path = reader.text("RestoreRequest.path");
    if (path == null) {
      return rejected(Rejection.MALFORMED, reader.failure);
    }
    return ok(d.seq(), d.sender(), new Command.Restore(d.runId(), path));
  }

  private Decoded checkpointRequest(
      final DirectBuffer buffer, final int body, final int blockLength, final int version) {
    final CheckpointRequestDecoder d =
        checkpointRequestDecoder.wrap(buffer, body, blockLength, version);
    if (d.sender() != Join.COORDINATOR) {
      return notFromCoordinator(Kind.CHECKPOINT_REQUEST, d.sender());
    }
    final short awaitWrite = d.awaitWriteRaw();
    if (!isBoolean(awaitWrite)) {
      return badCode("CheckpointRequest.awaitWrite", awaitWrite);
    }
    final String directory = reader.text("CheckpointRequest.directory");
    final String state = directory == null ? null : reader.text("CheckpointRequest.trainerState");
    if (state == null) {
      return rejected(Rejection.MALFORMED, reader.failure);
    }
    return ok(
        d.seq(),
        d.sender(),
        new Command.Checkpoint(
            d.runId(),
            d.step(),
            directory,
            d.keep(),
            awaitWrite == BooleanType.TRUE.value(),
            state));
  }

  private Decoded recalibrateBnRequest(
      final DirectBuffer buffer, final int body, final int blockLength, final int version) {
    final RecalibrateBnRequestDecoder d =
        recalibrateBnRequestDecoder.wrap(buffer, body, blockLength, version);
    if (d.sender() != Join.COORDINATOR) {
      return notFromCoordinator(Kind.RECALIBRATE_BN_REQUEST, d.sender());
    }
    return ok(d.seq(), d.sender(), new Command.RecalibrateBn(d.runId(), d.batches(), d.round()));
  }

  private Decoded heartbeat(
      final DirectBuffer buffer, final int body, final int blockLength, final int version) {
    final HeartbeatDecoder d = heartbeatDecoder.wrap(buffer, body, blockLength, version);
    return ok(d.seq(), d.sender(), new Heartbeat(d.runId(), d.sender(), d.sentEpochMillis()));
  }

  private Decoded stepDone(
      final DirectBuffer buffer, final int body, final int blockLength, final int version) {
    final StepDoneDecoder d = stepDoneDecoder.wrap(buffer, body, blockLength, version);
    final short skipped = d.skippedRaw();
    if (!isBoolean(skipped)) {
      return badCode("StepDone.skipped", skipped);
    }
    final String nonFinite = reader.text("StepDone.nonFinite");
    if (nonFinite == null) {
      return rejected(Rejection.MALFORMED, reader.failure);
    }
    return ok(
        d.seq(),
        d.sender(),
        new Report.StepDone(
            d.runId(),
            d.sender(),
            d.step(),
            d.lossSum(),
            d.correctPositions(),
            d.correctSequences(),
            d.samples(),
            d.dataWaitNanos(),
            d.forwardNanos(),
            d.backwardNanos(),
            d.allReduceNanos(),
            d.optimizerNanos(),
            d.replicaHash(),
            skipped == BooleanType.TRUE.value(),
            nonFinite,
            d.bnReduceNanos()));
  }

  private Decoded evaluationDone(
      final DirectBuffer buffer, final int body, final int blockLength, final int version) {
    final EvaluationDoneDecoder d = evaluationDoneDecoder.wrap(buffer, body, blockLength, version);
    return ok(
        d.seq(),
        d.sender(),
        new Report.EvaluationDone(
            d.runId(),
            d.sender(),
            d.lossSum(),
            d.correctPositions(),
            d.correctSequences(),
            d.samples()));
  }

  private Decoded failed(
      final DirectBuffer buffer, final int body, final int blockLength, final int version) {
    final FailedDecoder d = failedDecoder.wrap(buffer, body, blockLength, version);
    final Report.Cause cause = cause(d.causeRaw());
    if (cause == null) {
      return badCode("Failed.cause", d.causeRaw());
    }
    final String text = reader.text("Failed.message");
    if (text == null) {
      return rejected(Rejection.MALFORMED, reader.failure);
    }
    return ok(d.seq(), d.sender(), new Report.Failed(d.runId(), d.sender(), d.step(), text, cause));
  }

  private Decoded checkpointDone(
      final DirectBuffer buffer, final int body, final int blockLength, final int version) {
    final CheckpointDoneDecoder d = checkpointDoneDecoder.wrap(buffer, body, blockLength, version);
    final String path = reader.text("CheckpointDone.path");
    if (path == null) {
      return rejected(Rejection.MALFORMED, reader.failure);
    }
    return ok(
        d.seq(), d.sender(), new Report.CheckpointDone(d.runId(), d.sender(), d.step(), path));
  }

  private Decoded bnRecalibrated(
      final DirectBuffer buffer, final int body, final int blockLength, final int version) {
    final BnRecalibratedDecoder d = bnRecalibratedDecoder.wrap(buffer, body, blockLength, version);
    if (!reader.has(GroupSizeEncodingDecoder.ENCODED_LENGTH)) {
      return rejected(Rejection.MALFORMED, "BnRecalibrated ends inside the layers group header");
    }
    final GroupSizeEncodingDecoder group = groupDecoder.wrap(buffer, reader.pos);
    final int entryLength = BnRecalibratedDecoder.LayersDecoder.sbeBlockLength();
    if (group.blockLength() != entryLength) {
      return rejected(
          Rejection.MALFORMED,
          "BnRecalibrated layers entries of "
              + group.blockLength()
              + " bytes, the schema's are "
              + entryLength);
    }
    final int count = group.numInGroup();
    reader.pos += GroupSizeEncodingDecoder.ENCODED_LENGTH;
    if ((long) count * entryLength > reader.remaining()) {
      return rejected(
          Rejection.MALFORMED,
          "BnRecalibrated claims "
              + count
              + " layers, more than its "
              + reader.remaining()
              + " bytes hold");
    }
    final List<Report.Movement> layers = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      layers.add(
          new Report.Movement(
              buffer.getDouble(
                  reader.pos + BnRecalibratedDecoder.LayersDecoder.meanShiftEncodingOffset(),
                  ORDER),
              buffer.getDouble(
                  reader.pos + BnRecalibratedDecoder.LayersDecoder.varianceRatioEncodingOffset(),
                  ORDER)));
      reader.pos += entryLength;
    }
    return ok(
        d.seq(),
        d.sender(),
        new Report.BnRecalibrated(
            d.runId(), d.sender(), d.batches(), d.samples(), d.replicaHash(), layers));
  }

  /** The message was read to its end: anything left before the tag (or frame end) is refused. */
  private Decoded ok(final long seq, final int sender, final Message message) {
    if (reader.remaining() != 0) {
      return rejected(
          Rejection.MALFORMED,
          reader.remaining()
              + " bytes after the "
              + message.getClass().getSimpleName()
              + (ControlCodec.authenticated(message) ? " before its tag" : ""));
    }
    return new Decoded.Ok(seq, sender, message);
  }

  /** The cause with FailureCause code {@code code}, or null for a code the schema lacks. */
  private static Report.Cause cause(final short code) {
    for (final Report.Cause c : CAUSES) {
      if (CAUSE_CODES[c.ordinal()].value() == code) {
        return c;
      }
    }
    return null;
  }

  private static boolean isBoolean(final short code) {
    return code == BooleanType.FALSE.value() || code == BooleanType.TRUE.value();
  }

  // SBE's generated enum lookups throw IllegalArgumentException for codes the schema does not
  // define (only 255 maps to NULL_VAL), so codes are checked raw.
  private static Decoded badCode(final String field, final short code) {
    return rejected(Rejection.MALFORMED, field + " has code " + code + ", not one of the schema's");
  }

  private static Decoded notFromCoordinator(final Kind kind, final int sender) {
    return rejected(
        Rejection.MALFORMED,
        kind
            + " with sender "
            + sender
            + ": only the coordinator ("
            + Join.COORDINATOR
            + ") sends it");
  }

  private static Decoded rejected(final Rejection reason, final String detail) {
    return new Decoded.Rejected(reason, detail);
  }

  /**
   * The var-data cursor of one decode: position, end of the message (before the tag), and why the
   * last read failed. Reads text strictly (bad UTF-8 is a failure, never a replacement character).
   */
  private static final class Reader {
    private final CharsetDecoder utf8 =
        StandardCharsets.UTF_8
            .newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT);
    private byte[] bytes = new byte[256];
    private ByteBuffer in = ByteBuffer.wrap(bytes);
    private CharBuffer out = CharBuffer.allocate(bytes.length);
    private DirectBuffer buffer;
    int pos;
    int end;
    String failure;

    void wrap(final DirectBuffer buffer, final int pos, final int end) {
      this.buffer = buffer;
      this.pos = pos;
      this.end = end;
      this.failure = null;
    }

    int remaining() {
      return end - pos;
    }

    boolean has(final int n) {
      return n <= end - pos;
    }

    /** The string at {@link #pos}, advancing past it; null with {@link #failure} set if invalid. */
    String text(final String field) {
      if (!has(TEXT_HEADER)) {
        failure = field + ": the frame ends inside its length";
        return null;
      }
      final long length = buffer.getInt(pos, ORDER) & 0xFFFF_FFFFL;
      if (length > MAX_TEXT_BYTES) {
        failure = field + " claims " + length + " bytes; the schema allows " + MAX_TEXT_BYTES;
        return null;
      }
      if (length > end - pos - TEXT_HEADER) {
        failure =
            field + " claims " + length + " bytes; " + (end - pos - TEXT_HEADER) + " are left";
        return null;
      }
      final int n = (int) length;
      final String s = utf8(pos + TEXT_HEADER, n);
      if (s == null) {
        failure = field + " is not valid UTF-8";
        return null;
      }
      pos += TEXT_HEADER + n;
      return s;
    }

    private String utf8(final int index, final int n) {
      if (n == 0) {
        return "";
      }
      if (n > bytes.length) {
        bytes = new byte[Math.max(n, 2 * bytes.length)];
        in = ByteBuffer.wrap(bytes);
        out = CharBuffer.allocate(bytes.length);
      }
      buffer.getBytes(index, bytes, 0, n);
      in.clear().limit(n);
      out.clear();
      utf8.reset();
      // UTF-8 never has more chars than bytes, so OVERFLOW cannot happen: only errors stop early.
      if (!utf8.decode(in, out, true).isUnderflow() || !utf8.flush(out).isUnderflow()) {
        return null;
      }
      return out.flip().toString();
    }
  }
}
