package io.synctower.common.protocol;

/**
 * Any control message between the coordinator and a tower: a {@link Command}, a {@link Report}, a
 * {@link Heartbeat} or a step of the {@link Join} handshake. In one JVM they travel as objects;
 * over Aeron, {@code ControlCodec} encodes them with the SBE schema in {@code src/main/sbe}.
 */
public sealed interface Message permits Command, Report, Heartbeat, Join {
  /** The run the message belongs to (0 only in a {@link Join.Request}: not known yet). */
  long runId();
}
