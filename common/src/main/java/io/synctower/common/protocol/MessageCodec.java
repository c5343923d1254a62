package io.synctower.common.protocol;

import io.synctower.common.protocol.sbe.BooleanType;
import io.synctower.common.protocol.sbe.MessageHeaderEncoder;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

/**
 * One control message's layout, written in one place: which record it carries, its schema name,
 * template id and block length, whether it travels with a tag, who sends it, how long it encodes,
 * how it is written and how it is read back. {@link ControlCodec} is the frame envelope around it
 * (header checks, length limits, HMAC); the per-direction classes {@link JoinCodecs}, {@link
 * CommandCodecs}, {@link ReportCodecs} and {@link HeartbeatCodec} hold one subclass per message.
 *
 * <p>Adding a message: a record in {@link Message}'s hierarchy, the message in {@code
 * synctower.xml}, one subclass here in its direction's class and its line in that class's {@code
 * create()}. {@link MessageCodecs} refuses to start without a codec for every record.
 *
 * <p><b>Threads and memory.</b> An instance owns its SBE flyweights, so it is used by one thread
 * (each {@link ControlCodec} creates its own set). {@link #length} and {@link #sender} read only
 * the message and constants, so one shared set answers {@link ControlCodec#encodedLength} on every
 * thread. {@link #write} and {@link #read} allocate nothing beyond the decoded message.
 */
abstract class MessageCodec<M extends Message> {
  final Class<M> type;
  final String schemaName;
  final int templateId;
  final int blockLength;
  final boolean authenticated;

  /**
   * @param authenticated false only for the three handshake messages that prove the secret by
   *     themselves ({@link JoinAuth})
   */
  MessageCodec(
      final Class<M> type,
      final String schemaName,
      final int templateId,
      final int blockLength,
      final boolean authenticated) {
    this.type = type;
    this.schemaName = schemaName;
    this.templateId = templateId;
    this.blockLength = blockLength;
    this.authenticated = authenticated;
  }

  /** The sender id {@code m} travels with ({@link ControlCodec#senderOf}). */
  abstract int sender(M m);

  /**
   * Bytes of the message after the header, without the tag: its block and what follows it.
   * Validates what {@link #write} relies on and reads nothing but {@code m}.
   *
   * @throws IllegalArgumentException if {@code m} cannot be encoded (a text too long or not UTF-8,
   *     an array of the wrong size, a group too large)
   * @throws NullPointerException if a string, array or enum of {@code m} is null
   */
  abstract long length(M m);

  /**
   * Writes the header and {@code m} at {@code offset}; {@code m} has passed {@link #length} and the
   * buffer has room. Returns the message's length after the header.
   */
  abstract int write(
      M m,
      long seq,
      int sender,
      MutableDirectBuffer buffer,
      int offset,
      MessageHeaderEncoder header);

  /**
   * Reads the message whose block starts at {@code body}; the envelope has checked the header, the
   * block length, that the frame holds block and tag, and the tag. {@code in} is positioned after
   * the block. Never throws for any bytes: every length, count and code is checked before use.
   */
  abstract Decoded read(
      DirectBuffer buffer, int body, int blockLength, int version, VarData.Reader in);

  final int senderOf(final Message m) {
    return sender(type.cast(m));
  }

  final long lengthOf(final Message m) {
    return length(type.cast(m));
  }

  final int writeOf(
      final Message m,
      final long seq,
      final int sender,
      final MutableDirectBuffer buffer,
      final int offset,
      final MessageHeaderEncoder header) {
    return write(type.cast(m), seq, sender, buffer, offset, header);
  }

  /** The message was read to its end: anything left before the tag (or frame end) is refused. */
  final Decoded ok(final VarData.Reader in, final long seq, final int sender, final M message) {
    if (in.remaining() != 0) {
      return rejected(
          Rejection.MALFORMED,
          in.remaining()
              + " bytes after the "
              + message.getClass().getSimpleName()
              + (authenticated ? " before its tag" : ""));
    }
    return new Decoded.Ok(seq, sender, message);
  }

  /** The refusal for a coordinator-only message that names another sender. */
  final Decoded notFromCoordinator(final int sender) {
    return rejected(
        Rejection.MALFORMED,
        schemaName
            + " with sender "
            + sender
            + ": only the coordinator ("
            + Join.COORDINATOR
            + ") sends it");
  }

  /** The message's name in synctower.xml, for rejection details. */
  @Override
  public String toString() {
    return schemaName;
  }

  static BooleanType bool(final boolean value) {
    return value ? BooleanType.TRUE : BooleanType.FALSE;
  }

  static boolean isBoolean(final short code) {
    return code == BooleanType.FALSE.value() || code == BooleanType.TRUE.value();
  }

  static boolean isTrue(final short code) {
    return code == BooleanType.TRUE.value();
  }

  // SBE's generated enum lookups throw IllegalArgumentException for codes the schema does not
  // define (only 255 maps to NULL_VAL), so codes are checked raw.
  static Decoded badCode(final String field, final short code) {
    return rejected(Rejection.MALFORMED, field + " has code " + code + ", not one of the schema's");
  }

  static Decoded rejected(final Rejection reason, final String detail) {
    return new Decoded.Rejected(reason, detail);
  }

  static Decoded malformed(final String detail) {
    return rejected(Rejection.MALFORMED, detail);
  }
}
