package io.synctower.common.protocol;

import io.synctower.common.protocol.sbe.MessageHeaderDecoder;
import io.synctower.common.protocol.sbe.MessageHeaderEncoder;
import io.synctower.common.protocol.sbe.ReduceFrameDecoder;
import java.util.Objects;
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
 * codec, which owns its message codecs (their SBE flyweights), its HMAC and its scratch arrays, so
 * a frame costs no allocation beyond the decoded message itself (its record, strings and arrays).
 * Its flyweights keep pointing at the last buffer passed in, but nothing reads or writes it after a
 * call returns; decoded messages copy what they hold, so the caller may reuse its buffer at once.
 * Scratch arrays grow to the longest string decoded (at most {@value #MAX_TEXT_BYTES} bytes) and
 * stay.
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
 * <p><b>Layout.</b> This class is the frame envelope: header, length limits, schema id and version,
 * block length, the tag ({@link FrameTag}) and nothing after it. Each message's own layout (fields,
 * strings, groups, enum codes, who may send it) is written once, in its {@link MessageCodec}: the
 * handshake's in {@link JoinCodecs}, coordinator-to-worker commands in {@link CommandCodecs},
 * worker-to-coordinator reports in {@link ReportCodecs}, the heartbeat in {@link HeartbeatCodec}.
 *
 * <p><b>Sender mapping.</b> The {@code sender} field is derived from the message ({@link
 * #senderOf}): a {@link Command}, a {@link Join.Challenge}, a {@link Join.Welcome} and a {@link
 * Join.Refused} are sent by {@link Join#COORDINATOR}; a {@link Report} by its {@code rank()}; a
 * {@link Heartbeat} by its {@code sender()}; a {@link Join.Request} and a {@link Join.Proof} by
 * their {@code rank()}. {@link Command.ExportWeights} travels as the schema's {@code
 * ExportWeightsRequest}, {@link Command.Restore} as {@code RestoreRequest}, {@link
 * Command.Checkpoint} as {@code CheckpointRequest} and {@link Command.RunPreciseBn} as {@code
 * RecalibrateBnRequest}.
 */
public final class ControlCodec {
  /** Bytes of the HMAC-SHA256 tag after every authenticated message. */
  public static final int TAG_LENGTH = FrameTag.LENGTH;

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

  /**
   * Answers {@link #encodedLength} and {@link #senderOf} on any thread: those read only the message
   * and constants, never a codec's flyweights.
   */
  private static final MessageCodecs SIZES = new MessageCodecs();

  private final MessageCodecs codecs = new MessageCodecs();
  private final FrameTag tag;
  private final VarData.Reader reader = new VarData.Reader();
  private final MessageHeaderEncoder headerEncoder = new MessageHeaderEncoder();
  private final MessageHeaderDecoder headerDecoder = new MessageHeaderDecoder();
  private long backstopHits;

  /**
   * @param secret the run's secret, at least {@value JoinAuth#MIN_SECRET_BYTES} bytes ({@link
   *     JoinAuth#readSecret}); copied, so later changes to the array do not reach the codec
   * @throws IllegalArgumentException if the secret is shorter
   */
  public ControlCodec(final byte[] secret) {
    JoinAuth.requireSecret(secret);
    tag = new FrameTag(secret);
  }

  /**
   * The sender id a message travels with: {@link Join#COORDINATOR} for a {@link Command}, a {@link
   * Join.Challenge} and a {@link Join.Welcome}; the rank for a {@link Report}, a {@link
   * Join.Request} and a {@link Join.Proof}; {@link Heartbeat#sender()} for a heartbeat.
   */
  public static int senderOf(final Message message) {
    Objects.requireNonNull(message, "message");
    return SIZES.of(message).senderOf(message);
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
    return frameLength(SIZES.of(message), message);
  }

  private static int frameLength(final MessageCodec<?> codec, final Message message) {
    final long length =
        HEADER_LENGTH + (codec.authenticated ? TAG_LENGTH : 0) + codec.lengthOf(message);
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
    Objects.requireNonNull(message, "message");
    final MessageCodec<?> codec = codecs.of(message);
    final int length = frameLength(codec, message);
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
    final int sbeLength =
        HEADER_LENGTH
            + codec.writeOf(message, seq, codec.senderOf(message), buffer, offset, headerEncoder);
    if (codec.authenticated) {
      tag.append(buffer, offset, sbeLength);
      return sbeLength + TAG_LENGTH;
    }
    return sbeLength;
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
      return MessageCodec.malformed("unchecked malformation: " + e.getMessage());
    }
  }

  /** How often decode fell through to its backstop; a test hook, 0 unless a check is missing. */
  long backstopHits() {
    return backstopHits;
  }

  private Decoded decodeFrame(final DirectBuffer buffer, final int offset, final int length) {
    if (length < HEADER_LENGTH) {
      return MessageCodec.malformed(
          length + "-byte frame is shorter than the " + HEADER_LENGTH + "-byte message header");
    }
    if (length > MAX_ENCODED_LENGTH) {
      return MessageCodec.malformed(
          length + "-byte frame is longer than MAX_ENCODED_LENGTH (" + MAX_ENCODED_LENGTH + ")");
    }
    final MessageHeaderDecoder header = headerDecoder.wrap(buffer, offset);
    if (header.schemaId() != SCHEMA_ID) {
      return MessageCodec.malformed(
          "schema id " + header.schemaId() + ", expected " + SCHEMA_ID + ": not a SyncTower frame");
    }
    if (header.version() != SCHEMA_VERSION) {
      return MessageCodec.malformed(
          "schema version "
              + header.version()
              + ", this build reads only "
              + SCHEMA_VERSION
              + ": run the coordinator and every worker from the same SyncTower build");
    }
    final int templateId = header.templateId();
    final MessageCodec<?> codec = codecs.byTemplateId(templateId);
    if (codec == null) {
      return MessageCodec.rejected(
          Rejection.UNKNOWN_TYPE,
          templateId == ReduceFrameDecoder.TEMPLATE_ID
              ? "a data-plane ReduceFrame on the control channel"
              : "template id " + templateId + " is not a control message");
    }
    final int blockLength = header.blockLength();
    if (blockLength != codec.blockLength) {
      return MessageCodec.malformed(
          codec + " with block length " + blockLength + ", the schema's is " + codec.blockLength);
    }
    final int minimum = HEADER_LENGTH + blockLength + (codec.authenticated ? TAG_LENGTH : 0);
    if (length < minimum) {
      return MessageCodec.malformed(
          length
              + "-byte "
              + codec
              + " is shorter than its fixed part"
              + (codec.authenticated ? " and tag (" : " (")
              + minimum
              + " bytes)");
    }
    int end = offset + length;
    if (codec.authenticated) {
      end -= TAG_LENGTH;
      if (!tag.matches(buffer, offset, end - offset)) {
        return MessageCodec.rejected(
            Rejection.BAD_TAG,
            codec + " tag does not match: the sender lacks the run's secret or the frame changed");
      }
    }
    final int body = offset + HEADER_LENGTH;
    reader.wrap(buffer, body + blockLength, end);
    return codec.read(buffer, body, blockLength, header.version(), reader);
  }
}
