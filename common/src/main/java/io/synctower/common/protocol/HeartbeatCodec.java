package io.synctower.common.protocol;

import io.synctower.common.protocol.sbe.HeartbeatDecoder;
import io.synctower.common.protocol.sbe.HeartbeatEncoder;
import io.synctower.common.protocol.sbe.MessageHeaderEncoder;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

/**
 * Both directions: the {@link Heartbeat}, tagged, sent by a tower rank or {@link Join#COORDINATOR}
 * as its {@code sender} says.
 */
final class HeartbeatCodec extends MessageCodec<Heartbeat> {
  private final HeartbeatEncoder encoder = new HeartbeatEncoder();
  private final HeartbeatDecoder decoder = new HeartbeatDecoder();

  HeartbeatCodec() {
    super(
        Heartbeat.class,
        "Heartbeat",
        HeartbeatDecoder.TEMPLATE_ID,
        HeartbeatDecoder.BLOCK_LENGTH,
        true);
  }

  @Override
  int sender(final Heartbeat m) {
    return m.sender();
  }

  @Override
  long length(final Heartbeat m) {
    return HeartbeatEncoder.BLOCK_LENGTH;
  }

  @Override
  int write(
      final Heartbeat m,
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
        .sentEpochMillis(m.sentEpochMillis())
        .encodedLength();
  }

  @Override
  Decoded read(
      final DirectBuffer buffer,
      final int body,
      final int blockLength,
      final int version,
      final VarData.Reader in) {
    final HeartbeatDecoder d = decoder.wrap(buffer, body, blockLength, version);
    return ok(in, d.seq(), d.sender(), new Heartbeat(d.runId(), d.sender(), d.sentEpochMillis()));
  }
}
