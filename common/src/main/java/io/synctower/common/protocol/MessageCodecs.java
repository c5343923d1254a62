package io.synctower.common.protocol;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One thread's set of {@link MessageCodec}s, one per control message, found by record type (to
 * encode) or by template id (to decode). Construction checks the set against the protocol: every
 * record of the sealed {@link Message} hierarchy has exactly one codec and no two codecs share a
 * template id, so a message added without a codec fails the first codec built, not a run.
 */
final class MessageCodecs {
  private final Map<Class<?>, MessageCodec<?>> byType = new HashMap<>();
  private final MessageCodec<?>[] all;

  MessageCodecs() {
    final List<MessageCodec<?>> codecs = new ArrayList<>();
    codecs.addAll(JoinCodecs.create());
    codecs.addAll(CommandCodecs.create());
    codecs.addAll(ReportCodecs.create());
    codecs.add(new HeartbeatCodec());
    for (final MessageCodec<?> c : codecs) {
      for (final MessageCodec<?> other : byType.values()) {
        if (other.templateId == c.templateId) {
          throw new IllegalStateException(
              c + " and " + other + " share template id " + c.templateId);
        }
      }
      if (byType.put(c.type, c) != null) {
        throw new IllegalStateException("two codecs for " + c.type.getName());
      }
    }
    for (final Class<?> record : records(Message.class, new ArrayList<>())) {
      if (!byType.containsKey(record)) {
        throw new IllegalStateException(
            record.getName() + " has no MessageCodec: add one to its direction's codecs");
      }
    }
    this.all = codecs.toArray(new MessageCodec<?>[0]);
  }

  private static List<Class<?>> records(final Class<?> type, final List<Class<?>> out) {
    if (type.isRecord()) {
      out.add(type);
    } else if (type.isSealed()) {
      for (final Class<?> sub : type.getPermittedSubclasses()) {
        records(sub, out);
      }
    }
    return out;
  }

  /**
   * The codec of {@code message}'s record type.
   *
   * @throws IllegalArgumentException for a type that is not a control message
   */
  MessageCodec<?> of(final Message message) {
    final MessageCodec<?> c = byType.get(message.getClass());
    if (c == null) {
      throw new IllegalArgumentException("not a control message: " + message.getClass());
    }
    return c;
  }

  /** The codec of a template id, or null for one that is not a control message. */
  MessageCodec<?> byTemplateId(final int templateId) {
    for (final MessageCodec<?> c : all) {
      if (c.templateId == templateId) {
        return c;
      }
    }
    return null;
  }
}
