package io.synctower.coordinator.cluster;

import io.aeron.Aeron;
import io.aeron.FragmentAssembler;
import io.aeron.Image;
import io.aeron.Subscription;
import io.aeron.logbuffer.Header;
import io.synctower.common.protocol.ControlCodec;
import io.synctower.common.protocol.Decoded;
import io.synctower.common.protocol.Join;
import io.synctower.common.protocol.Message;
import io.synctower.worker.remote.ControlChannels;
import io.synctower.worker.transport.TransportKind;
import org.agrona.CloseHelper;
import org.agrona.DirectBuffer;

/**
 * The coordinator's end of the control channel: decodes what the towers send, drops (and counts)
 * what fails authentication or the {@link RejectionLog gate}, and hands the rest to a {@link
 * Listener}.
 *
 * <pre>{@code
 * while (running) idle.idle(inbox.poll());   // the listener is called on this thread
 * }</pre>
 *
 * <p>Threads: polled by one thread at a time (the join, then the I/O thread); the listener is
 * called on it, except {@link Listener#onConnectionClosed}, which Aeron's conductor thread calls.
 */
final class ControlInbox implements AutoCloseable {
  /** Where the messages go. */
  interface Listener {
    /** A join message (request or proof), which carries no sequence number yet. */
    void onJoin(Join message, int session);

    /** A message from tower {@code rank} that passed the gate, on Aeron session {@code session}. */
    void onMessage(int rank, int session, Message message);

    /** The connection of Aeron session {@code session} closed. */
    void onConnectionClosed(int session);
  }

  private final ControlCodec codec;
  private final RejectionLog rejections;
  private final Listener listener;
  private final FragmentAssembler assembler;
  private final Subscription subscription;

  ControlInbox(
      final Aeron aeron,
      final TransportKind transport,
      final String bindEndpoint,
      final byte[] secret,
      final RejectionLog rejections,
      final Listener listener) {
    this.codec = new ControlCodec(secret);
    this.rejections = rejections;
    this.listener = listener;
    this.assembler = new FragmentAssembler(this::onFragment);
    this.subscription =
        aeron.addSubscription(
            ControlChannels.toCoordinator(transport, bindEndpoint),
            ControlChannels.toCoordinatorStream(),
            image -> {},
            (final Image image) -> listener.onConnectionClosed(image.sessionId()));
  }

  /** Handles what has arrived (at most 16 fragments); returns how many fragments that was. */
  int poll() {
    return subscription.poll(assembler, 16);
  }

  private void onFragment(
      final DirectBuffer buffer, final int offset, final int length, final Header header) {
    final Decoded decoded = codec.decode(buffer, offset, length);
    if (!(decoded instanceof Decoded.Ok ok)) {
      final Decoded.Rejected r = (Decoded.Rejected) decoded;
      rejections.reject(r.reason(), r.detail());
      return;
    }
    final Message m = ok.message();
    if (m instanceof Join j) {
      // After the join phase every rank is taken: a request is refused, a proof is stale.
      listener.onJoin(j, header.sessionId());
      return;
    }
    if (rejections.accepts(ok)) {
      listener.onMessage(ok.sender(), header.sessionId(), m);
    }
  }

  @Override
  public void close() {
    CloseHelper.close(subscription);
  }
}
