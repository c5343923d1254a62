package io.synctower.common.checkpoint;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * One file of a checkpoint, handed to {@link CheckpointStore#commit} as a writer of bytes, so large
 * state can be streamed to disk without first building one array. The store counts the bytes and
 * computes their CRC32C while they are written.
 *
 * <pre>{@code
 * store.commit(step, List.of(
 *     CheckpointFile.ofText("state.json", json),
 *     new CheckpointFile("params.bin", out -> {      // streamed, e.g. chunk by chunk
 *       for (ByteBuffer chunk : chunks) { out.write(chunk); }
 *     })), keep);
 * }</pre>
 *
 * @param name the file's name inside the checkpoint directory: 1 to 255 characters from {@code
 *     [A-Za-z0-9._-]}, not starting with a dot, not {@code manifest} (the store's own file)
 * @param content writes the file's bytes
 */
public record CheckpointFile(String name, Content content) {
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_-][A-Za-z0-9._-]{0,254}");

  /**
   * Writes a file's bytes. Called once, on the committing thread, with a channel that writes every
   * byte it is given before returning (no partial writes) and consumes the buffer (its position
   * moves to its limit). The content must not close the channel or keep it after returning.
   */
  @FunctionalInterface
  public interface Content {
    void writeTo(WritableByteChannel out) throws IOException;
  }

  /** Whether {@code name} may name a checkpoint file (see the record's doc). */
  static boolean isValidName(final String name) {
    return NAME.matcher(name).matches() && !name.equals(Manifest.FILE_NAME);
  }

  public CheckpointFile {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(content, "content");
    if (!isValidName(name)) {
      throw new IllegalArgumentException(
          "checkpoint file name '"
              + name
              + "' is not allowed: use 1 to 255 characters from [A-Za-z0-9._-], not starting"
              + " with a dot, and not '"
              + Manifest.FILE_NAME
              + "' (the store's own file)");
    }
  }

  /**
   * A file holding {@code bytes}. Does not copy: the caller must not change the array until {@link
   * CheckpointStore#commit} returns.
   */
  public static CheckpointFile ofBytes(final String name, final byte[] bytes) {
    Objects.requireNonNull(bytes, "bytes");
    return new CheckpointFile(name, out -> out.write(ByteBuffer.wrap(bytes)));
  }

  /** A file holding {@code text} in UTF-8 (encoded once, here, into a new array). */
  public static CheckpointFile ofText(final String name, final String text) {
    Objects.requireNonNull(text, "text");
    return ofBytes(name, text.getBytes(StandardCharsets.UTF_8));
  }
}
