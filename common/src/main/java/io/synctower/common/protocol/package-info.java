/**
 * The control protocol between the coordinator and the towers: what they say to each other, how it
 * is written on the wire, and who may say it.
 *
 * <p>What lives here: the messages as records ({@link io.synctower.common.protocol.Message} and its
 * {@link io.synctower.common.protocol.Command}s, {@link io.synctower.common.protocol.Report}s,
 * {@link io.synctower.common.protocol.Heartbeat} and the {@link io.synctower.common.protocol.Join}
 * handshake); {@link io.synctower.common.protocol.ControlCodec}, which writes them as SBE frames
 * (schema {@code src/main/sbe/synctower.xml}, codecs generated into {@code .sbe}) with an
 * HMAC-SHA256 tag and reads received frames back without ever throwing on their bytes; {@link
 * io.synctower.common.protocol.JoinAuth}, the run's secret and what derives from it (join proofs,
 * the data-plane key); and {@link io.synctower.common.protocol.MessageGate}, which drops another
 * run's messages, unknown senders and replays and counts every drop by {@link
 * io.synctower.common.protocol.Rejection}.
 *
 * <p>A receiving thread's loop:
 *
 * <pre>{@code
 * Decoded d = codec.decode(buffer, offset, length);
 * if (d instanceof Decoded.Ok ok && gate.check(ok) == null) handle(ok.message());
 * else if (d instanceof Decoded.Rejected r) gate.countDecodeFailure(r.reason());
 * }</pre>
 *
 * <p>What must not live here: no sockets, no Aeron publications or subscriptions, no threads, no
 * clocks or timeouts. Everything here works on buffers and values the caller passes in, on the
 * caller's thread, so it is tested without a network; the transport that moves the frames and the
 * loops that act on the messages live in the worker and coordinator modules.
 */
package io.synctower.common.protocol;
