package io.synctower.common.protocol;

/**
 * Why a received control frame was dropped. {@link ControlCodec#decode} decides the first three;
 * {@link MessageGate#check} the next three; the coordinator decides {@link #IMPOSTOR} and {@link
 * #RANK_TAKEN} and counts them with {@link MessageGate#countDecodeFailure}, so every drop of a
 * receiver lands in one set of counters.
 */
public enum Rejection {
  /**
   * Not a frame this build writes: too short or too long, another schema id or version, a block
   * length other than the schema's, a length or count that runs past the frame, bytes after the
   * message, a missing tag, invalid UTF-8, an enum code outside the schema, or a field the records
   * cannot represent (a command whose sender is not the coordinator).
   */
  MALFORMED,
  /** A template id that is not a control message (includes the data plane's ReduceFrame). */
  UNKNOWN_TYPE,
  /** The HMAC tag does not match: the sender does not hold the run's secret, or bytes changed. */
  BAD_TAG,
  /** A valid message of another run (a stale process, or a second job on the same ports). */
  WRONG_RUN,
  /** A sequence number not above the last one accepted from that sender: a replay or duplicate. */
  STALE,
  /** A sender that is not part of this run, or not allowed to send to this receiver. */
  UNKNOWN_SENDER,
  /**
   * A valid message whose sender rank is bound to another connection (the coordinator knows which
   * session each rank joined from); decided by the coordinator, not by the codec or the gate.
   */
  IMPOSTOR,
  /**
   * A join request or proof for a rank another process already holds (one join per rank): the
   * claimant is sent a {@link Join.Refused} and never welcomed. Decided by the coordinator.
   */
  RANK_TAKEN;

  /** The lower-case words used in {@link MessageGate#summary()}, e.g. {@code "wrong run"}. */
  String words() {
    return name().toLowerCase(java.util.Locale.ROOT).replace('_', ' ');
  }
}
