package io.synctower.common.protocol;

import java.util.Objects;

/**
 * What {@link ControlCodec#decode} makes of a frame: a message, or the reason it was dropped.
 *
 * <pre>{@code
 * Decoded d = codec.decode(buffer, offset, length);
 * if (d instanceof Decoded.Ok ok) {
 *   Rejection r = gate.check(ok);            // run, sender, replay
 *   if (r == null) handle(ok.message());
 * } else if (d instanceof Decoded.Rejected rejected) {
 *   gate.countDecodeFailure(rejected.reason());
 * }
 * }</pre>
 */
public sealed interface Decoded {
  /**
   * A well-formed, and where the type requires it authenticated, message. {@code sender} always
   * equals {@link ControlCodec#senderOf(Message) senderOf(message)}.
   */
  record Ok(long seq, int sender, Message message) implements Decoded {
    public Ok {
      Objects.requireNonNull(message, "message");
    }
  }

  /** The frame was dropped; {@code detail} says what was wrong, for a log line. */
  record Rejected(Rejection reason, String detail) implements Decoded {
    public Rejected {
      Objects.requireNonNull(reason, "reason");
      Objects.requireNonNull(detail, "detail");
    }
  }
}
