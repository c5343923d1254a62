package io.synctower.common.checkpoint;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The child JVM of {@link CheckpointKillTest}: commits checkpoints 1, 2, 3, ... into {@code
 * args[0]} with {@link #KEEP}, printing {@code ready} once and {@code committed N} after each
 * commit returns, until it is killed, has committed {@code args[1]} checkpoints, or its standard
 * input closes (the parent died: an orphan must not write forever).
 *
 * <p>Each checkpoint holds {@link #NAMES}: about 3 MB of pseudo-random bytes derived from the step,
 * streamed in 64 KiB chunks so that a kill often lands mid-file, and a small text file. Loads no
 * native library: the store is plain file code.
 */
final class CheckpointWriterProcess {
  static final int KEEP = 2;
  static final List<String> NAMES = List.of("params.bin", "optimizer.bin", "state.txt");

  private static final int[] SIZES = {2 << 20, 1 << 20};
  private static final int CHUNK = 1 << 16;

  private CheckpointWriterProcess() {}

  /** The files of checkpoint {@code step}; each call's contents write the same bytes. */
  static List<CheckpointFile> files(final long step) {
    return List.of(
        new CheckpointFile(NAMES.get(0), out -> writeRandom(out, step, 0)),
        new CheckpointFile(NAMES.get(1), out -> writeRandom(out, step, 1)),
        CheckpointFile.ofText(NAMES.get(2), "step " + step + "\n"));
  }

  /** The bytes file {@code index} of checkpoint {@code step} must hold: a new array. */
  static byte[] expected(final long step, final int index) throws IOException {
    final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    files(step).get(index).content().writeTo(Channels.newChannel(bytes));
    return bytes.toByteArray();
  }

  private static void writeRandom(final WritableByteChannel out, final long step, final int index)
      throws IOException {
    final SplittableRandom random = new SplittableRandom(step * 1_000_003L + index);
    final byte[] chunk = new byte[CHUNK];
    final ByteBuffer buffer = ByteBuffer.wrap(chunk);
    for (int left = SIZES[index]; left > 0; left -= CHUNK) {
      random.nextBytes(chunk);
      buffer.clear().limit(Math.min(CHUNK, left));
      out.write(buffer);
    }
  }

  public static void main(final String[] args) throws IOException {
    final CheckpointStore store = new CheckpointStore(Path.of(args[0]));
    final long steps = Long.parseLong(args[1]);
    final Thread orphanGuard =
        new Thread(
            () -> {
              try {
                while (System.in.read() >= 0) {
                  // the parent writes nothing; read() returns -1 once it has gone
                }
              } catch (final IOException e) {
                // stdin broken: treat like a closed one
              }
              Runtime.getRuntime().halt(3);
            },
            "orphan-guard");
    orphanGuard.setDaemon(true);
    orphanGuard.start();

    final PrintStream out = new PrintStream(System.out, false, StandardCharsets.UTF_8);
    out.println("ready");
    out.flush();
    for (long step = 1; step <= steps; step++) {
      store.commit(step, files(step), KEEP);
      out.println("committed " + step);
      out.flush();
    }
  }
}
