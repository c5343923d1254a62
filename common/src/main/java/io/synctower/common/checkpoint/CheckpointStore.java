package io.synctower.common.checkpoint;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.CRC32C;

/**
 * A run's checkpoints on disk: each committed atomically into its own directory, a {@code latest}
 * pointer moved to it, the oldest pruned; loading verifies every byte against the manifest.
 *
 * <pre>{@code
 * CheckpointStore store = new CheckpointStore(runDir.resolve("checkpoints"));
 * long step = 0;
 * try {
 *   StoredCheckpoint c = store.loadLatest(options.fallback());
 *   c.skipped().forEach(log::warn);                   // what a fallback passed over, and why
 *   restore(c.file("params.bin"), c.text("state.json"));
 *   step = c.step();
 * } catch (NoCheckpointException e) {
 *   // a fresh run; corrupt checkpoints throw CheckpointCorruptException instead
 * }
 * while (step < steps) {
 *   train(++step);
 *   if (step % every == 0) {
 *     store.commit(step, List.of(CheckpointFile.ofText("state.json", json), params), keep);
 *   }
 * }
 * }</pre>
 *
 * <p>Layout under {@link #root()}: {@code step-00000120/} (the step zero-padded to at least eight
 * digits; {@code step-00000120-r1/} when step 120 is committed again while {@code step-00000120/}
 * exists) holds the caller's files and a {@code manifest} written last (see {@link Manifest}:
 * format version, step, creation time, each file's size and CRC32C, closed by its own CRC32C).
 * {@code latest} holds the name of the current checkpoint's directory and a newline. Names starting
 * with {@code .tmp-} or {@code latest.tmp-} are a commit or prune in progress, or left by one that
 * crashed; they are never loaded and the next commit removes them.
 *
 * <p>A commit writes everything into a fresh {@code .tmp-step-...-<uuid>/} directory, forces every
 * file and the directory to disk, renames it to its final name (an atomic rename that never
 * replaces a directory), forces the root, then replaces {@code latest} the same way (write a
 * temporary file, force, atomic rename, force the root). The rename of {@code latest} is the commit
 * point: a crash at any moment leaves {@code latest} naming a complete, verified checkpoint (or, on
 * the first commit, no {@code latest} at all and at most one complete directory). Pruning runs only
 * after that and never deletes what {@code latest} names: a directory is renamed to {@code .tmp-}
 * before it is deleted, so no half-deleted checkpoint is ever visible.
 *
 * <p>Threads and processes: one writer per root at a time (the run's coordinator); the store does
 * not lock. Load before training writes again: a load that runs during a commit in another process
 * may see a checkpoint pruned under it. Calls are synchronous and allocate only small buffers; file
 * contents are streamed, never held whole.
 *
 * <p>Platforms: directories are forced by opening them read-only and calling {@link
 * FileChannel#force}. Windows cannot open a directory, so there that step is skipped and a rename
 * is as durable as NTFS's metadata journal makes it. A killed process loses nothing that reached
 * the kernel; the forces are what make a commit survive a power cut, which depends on the disk
 * honouring flushes.
 */
public final class CheckpointStore {
  /** The pointer file under the root. */
  static final String LATEST = "latest";

  private static final String TMP_PREFIX = ".tmp-";
  private static final String PRUNE_PREFIX = TMP_PREFIX + "prune-";
  private static final String LATEST_TMP_PREFIX = LATEST + ".tmp-";
  private static final Pattern DIR_NAME = Pattern.compile("step-(\\d{8,19})(?:-r([1-9]\\d{0,8}))?");
  private static final boolean DIRECTORY_SYNC =
      !System.getProperty("os.name", "").startsWith("Windows");
  private static final int READ_CHUNK = 1 << 16;

  private final Path root;

  /**
   * A store under {@code root}, e.g. {@code RUN_DIR/checkpoints}; nothing is read or created until
   * the first call. Relative paths are resolved against the working directory now.
   */
  public CheckpointStore(final Path root) {
    this.root = Objects.requireNonNull(root, "root").toAbsolutePath().normalize();
  }

  /** The absolute root directory. */
  public Path root() {
    return root;
  }

  /**
   * Writes checkpoint {@code step} atomically, moves {@code latest} to it, then deletes all but the
   * newest {@code keep} committed checkpoints. Each file's {@link CheckpointFile.Content} is called
   * once, in list order, on this thread. Pruning keeps the new checkpoint and the {@code keep - 1}
   * newest with a smaller step; it also deletes checkpoints with a larger step or another revision
   * of the same step, which belong to a run that was abandoned when this one resumed from an
   * earlier checkpoint.
   *
   * @return the new checkpoint's directory
   * @throws IllegalArgumentException if {@code step} is negative, {@code keep < 1}, or two files
   *     share a name
   * @throws IOException naming the checkpoint's path and how far the commit got, if writing fails
   *     (e.g. the disk is full) or a content throws; the temporary directory is then removed (best
   *     effort) and, unless the message says the checkpoint was committed, {@code latest} and the
   *     existing checkpoints are unchanged. An interrupt closes the file being written (a {@link
   *     java.nio.channels.ClosedByInterruptException}) and fails the commit the same way.
   */
  public Path commit(final long step, final List<CheckpointFile> files, final int keep)
      throws IOException {
    return commit(step, files, keep, false);
  }

  /**
   * Like {@link #commit}, for a checkpoint derived from the current one at the same position (e.g.
   * precise BN's new moving statistics for the same weights): the earlier revisions of {@code step}
   * are not an abandoned run's but what this one was derived from, so they are kept, as the newest
   * older checkpoints ({@code keep} counts them), and stay a fallback for it.
   */
  public Path commitRevision(final long step, final List<CheckpointFile> files, final int keep)
      throws IOException {
    return commit(step, files, keep, true);
  }

  private Path commit(
      final long step,
      final List<CheckpointFile> files,
      final int keep,
      final boolean keepEarlierRevisions)
      throws IOException {
    if (step < 0) {
      throw new IllegalArgumentException("checkpoint step must be >= 0, got " + step);
    }
    Objects.requireNonNull(files, "files");
    if (keep < 1) {
      throw new IllegalArgumentException(
          "keep must be at least 1 (the checkpoint being committed), got " + keep);
    }
    final Set<String> names = new HashSet<>();
    for (final CheckpointFile f : files) {
      Objects.requireNonNull(f, "files holds a null CheckpointFile");
      if (!names.add(f.name())) {
        throw new IllegalArgumentException("two checkpoint files are named '" + f.name() + "'");
      }
    }

    Path target = root.resolve(new DirName(step, 0).toString());
    Path tmp = null;
    String failed =
        "could not write checkpoint step %d to %s (latest and the existing checkpoints"
            + " are unchanged)";
    try {
      createRoot();
      removeLeftovers();
      final DirName name = nextName(step);
      target = root.resolve(name.toString());
      tmp = root.resolve(TMP_PREFIX + name + "-" + UUID.randomUUID());
      Files.createDirectory(tmp);
      writeCheckpoint(tmp, step, files);
      syncDirectory(tmp);
      Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
      tmp = null;
      failed =
          "checkpoint step %d was written to %s, but latest could not be moved to it (latest"
              + " still names the previous checkpoint)";
      syncDirectory(root);
      pointLatestAt(name);
      failed =
          "checkpoint step %d is committed at %s and latest names it, but forcing the root to disk"
              + " or removing older checkpoints failed";
      syncDirectory(root);
      prune(name, keep, keepEarlierRevisions);
      return target;
    } catch (final IOException e) {
      removeQuietly(tmp, e);
      throw new IOException(String.format(failed, step, target) + ": " + e, e);
    } catch (final RuntimeException | Error e) {
      removeQuietly(tmp, e);
      throw e;
    }
  }

  /** {@link #loadLatest(boolean) loadLatest(false)}. */
  public StoredCheckpoint loadLatest() {
    return loadLatest(false);
  }

  /**
   * The checkpoint {@code latest} names, verified (every file's size and CRC32C; reads every byte).
   * When {@code latest} is missing, or names a directory that does not exist, the newest committed
   * checkpoint is the answer (a crash before the first pointer was written, or a deleted
   * directory), and {@link StoredCheckpoint#skipped()} says so. When the checkpoint is corrupt and
   * {@code fallback} is true, goes back to the newest older checkpoint that verifies; {@code
   * skipped} then lists each one passed over and why.
   *
   * @throws NoCheckpointException if the root holds neither {@code latest} nor a committed
   *     checkpoint (a fresh run)
   * @throws CheckpointCorruptException naming each damaged file and what is wrong, with the fix: if
   *     the checkpoint is corrupt and {@code fallback} is false, if every candidate is corrupt, or
   *     if {@code latest} names a missing directory and there is no other checkpoint
   * @throws CheckpointException if the root cannot be listed
   */
  public StoredCheckpoint loadLatest(final boolean fallback) {
    final List<DirName> committed = listCommittedUnchecked();
    final Path latestFile = root.resolve(LATEST);
    final List<String> skipped = new ArrayList<>();
    final List<DirName> candidates = new ArrayList<>(committed);
    Collections.reverse(candidates);
    if (!Files.exists(latestFile)) {
      if (committed.isEmpty()) {
        throw new NoCheckpointException(root);
      }
      skipped.add(latestFile + ": missing; using the newest committed checkpoint");
    } else {
      final Pointer pointer = readPointer(latestFile);
      if (pointer.problem() != null) {
        if (committed.isEmpty()) {
          throw new CheckpointCorruptException(
              latestFile,
              List.of(pointer.problem()),
              "no committed checkpoint is left in "
                  + root
                  + ": restore it from a copy, or delete "
                  + latestFile
                  + " to start the run from scratch");
        }
        skipped.add(pointer.problem() + "; using the newest committed checkpoint");
      } else {
        candidates.removeIf(d -> d.compareTo(pointer.target()) > 0);
      }
    }

    for (int i = 0; i < candidates.size(); i++) {
      final Path dir = root.resolve(candidates.get(i).toString());
      try {
        return verify(dir, skipped);
      } catch (final CheckpointCorruptException e) {
        if (!fallback) {
          throw e.withFix(
              i + 1 < candidates.size()
                  ? "resume with --fallback to use the previous checkpoint "
                      + candidates.get(i + 1)
                      + ", or delete "
                      + dir
                  : "there is no older checkpoint to fall back to: restore "
                      + dir
                      + " from a copy, or delete "
                      + root
                      + " to start the run from scratch");
        }
        skipped.add(String.join("; ", e.problems()));
      }
    }
    throw new CheckpointCorruptException(
        root,
        skipped,
        "no committed checkpoint in "
            + root
            + " verifies: restore one from a copy, or delete "
            + root
            + " to start the run from scratch");
  }

  /**
   * The checkpoint in {@code checkpointDir}, verified (every file's size and CRC32C; reads every
   * byte). The directory need not be under a store, but if its name is a {@code step-*} name, the
   * manifest's step must match it.
   *
   * @throws CheckpointCorruptException naming each damaged file and what is wrong
   */
  public static StoredCheckpoint load(final Path checkpointDir) {
    final Path dir =
        Objects.requireNonNull(checkpointDir, "checkpointDir").toAbsolutePath().normalize();
    try {
      return verify(dir, List.of());
    } catch (final CheckpointCorruptException e) {
      throw e.withFix("restore " + dir + " from a copy, or load another checkpoint");
    }
  }

  /**
   * The committed checkpoint directories, oldest first (by step, then by revision); empty if the
   * root does not exist. Temporary directories are not listed.
   *
   * @throws CheckpointException if the root cannot be listed
   */
  public List<Path> committed() {
    final List<Path> dirs = new ArrayList<>();
    for (final DirName d : listCommittedUnchecked()) {
      dirs.add(root.resolve(d.toString()));
    }
    return dirs;
  }

  // ---- commit ----

  private void createRoot() throws IOException {
    if (Files.isDirectory(root)) {
      return;
    }
    Files.createDirectories(root);
    final Path parent = root.getParent();
    if (parent != null) {
      syncDirectory(parent);
    }
  }

  /** Deletes what a crashed commit or prune left behind. */
  private void removeLeftovers() throws IOException {
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(root)) {
      for (final Path p : entries) {
        final String name = p.getFileName().toString();
        if (name.startsWith(TMP_PREFIX) || name.startsWith(LATEST_TMP_PREFIX)) {
          FileTrees.delete(p);
        }
      }
    }
  }

  /** {@code step-N}, or the next free revision {@code step-N-rK} if step N is already committed. */
  private DirName nextName(final long step) throws IOException {
    int revision = -1;
    for (final DirName d : listCommitted()) {
      if (d.step() == step) {
        revision = Math.max(revision, d.revision());
      }
    }
    return new DirName(step, revision + 1);
  }

  private static void writeCheckpoint(
      final Path dir, final long step, final List<CheckpointFile> files) throws IOException {
    final List<Manifest.Entry> entries = new ArrayList<>();
    for (final CheckpointFile f : files) {
      entries.add(writeFile(dir.resolve(f.name()), f.content()));
    }
    final byte[] manifest = new Manifest(step, Instant.now(), entries).encode();
    writeFile(dir.resolve(Manifest.FILE_NAME), out -> out.write(ByteBuffer.wrap(manifest)));
  }

  /** Writes a new file through a counting, checksumming channel and forces it to disk. */
  private static Manifest.Entry writeFile(final Path path, final CheckpointFile.Content content)
      throws IOException {
    try (FileChannel file =
        FileChannel.open(path, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      final ChecksummingChannel out = new ChecksummingChannel(file);
      content.writeTo(out);
      out.close();
      file.force(true);
      return new Manifest.Entry(path.getFileName().toString(), out.size, out.crc.getValue());
    }
  }

  private void pointLatestAt(final DirName name) throws IOException {
    final Path tmp = root.resolve(LATEST_TMP_PREFIX + UUID.randomUUID());
    try {
      writeFile(
          tmp, out -> out.write(ByteBuffer.wrap((name + "\n").getBytes(StandardCharsets.UTF_8))));
      // rename(2) replaces the old pointer atomically; readers see the old name or the new one.
      Files.move(tmp, root.resolve(LATEST), StandardCopyOption.ATOMIC_MOVE);
    } catch (final IOException | RuntimeException | Error e) {
      removeQuietly(tmp, e);
      throw e;
    }
  }

  /**
   * Keeps {@code latest} and the {@code keep - 1} newest checkpoints with a smaller step; removes
   * the rest, each renamed out of sight first.
   */
  private void prune(final DirName latest, final int keep, final boolean keepEarlierRevisions)
      throws IOException {
    final List<DirName> older = new ArrayList<>();
    final List<DirName> remove = new ArrayList<>();
    for (final DirName d : listCommitted()) {
      if (d.step() < latest.step()
          || (keepEarlierRevisions
              && d.step() == latest.step()
              && d.revision() < latest.revision())) {
        older.add(d);
      } else if (!d.equals(latest)) {
        remove.add(d);
      }
    }
    remove.addAll(older.subList(0, Math.max(0, older.size() - (keep - 1))));
    for (final DirName d : remove) {
      final Path doomed = root.resolve(PRUNE_PREFIX + d + "-" + UUID.randomUUID());
      Files.move(root.resolve(d.toString()), doomed, StandardCopyOption.ATOMIC_MOVE);
      FileTrees.delete(doomed);
    }
  }

  /** Forces a directory's entries (creations, renames) to disk; skipped where unsupported. */
  private static void syncDirectory(final Path dir) throws IOException {
    if (!DIRECTORY_SYNC) {
      return;
    }
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    }
  }

  /** Best-effort cleanup after a failure; a cleanup error is added to {@code failure}. */
  private static void removeQuietly(final Path path, final Throwable failure) {
    if (path == null) {
      return;
    }
    try {
      FileTrees.delete(path);
    } catch (final IOException | RuntimeException e) {
      failure.addSuppressed(e);
    }
  }

  // ---- load ----

  /** What {@code latest} names: exactly one of the two is non-null. */
  private record Pointer(DirName target, String problem) {}

  /** The existing directory {@code latest} names, or what is wrong with it. */
  private Pointer readPointer(final Path latestFile) {
    final String content;
    try {
      final String s = Files.readString(latestFile, StandardCharsets.UTF_8);
      content = s.endsWith("\n") ? s.substring(0, s.length() - 1) : s;
    } catch (final IOException e) {
      return new Pointer(null, latestFile + ": unreadable: " + e);
    }
    final DirName target = DirName.parse(content);
    if (target == null) {
      return new Pointer(
          null,
          latestFile
              + ": garbled: it should hold a step-* directory name, it holds '"
              + (content.length() <= 80 ? content : content.substring(0, 77) + "...")
              + "'");
    }
    final Path dir = root.resolve(target.toString());
    if (!Files.isDirectory(dir)) {
      return new Pointer(
          null, latestFile + " names " + target + ", which is missing (" + dir + ")");
    }
    return new Pointer(target, null);
  }

  /**
   * Checks {@code dir} against its manifest.
   *
   * @throws CheckpointCorruptException listing every problem, with a generic fix
   */
  private static StoredCheckpoint verify(final Path dir, final List<String> skipped) {
    final String fix = "restore " + dir + " from a copy, or load another checkpoint";
    if (!Files.isDirectory(dir)) {
      throw new CheckpointCorruptException(dir, List.of(dir + ": missing"), fix);
    }
    final Path manifestFile = dir.resolve(Manifest.FILE_NAME);
    final Manifest manifest;
    try {
      manifest = Manifest.decode(Files.readAllBytes(manifestFile));
    } catch (final NoSuchFileException e) {
      throw new CheckpointCorruptException(
          dir,
          List.of(manifestFile + ": missing (the checkpoint was never completed, or was damaged)"),
          fix);
    } catch (final IOException e) {
      throw new CheckpointCorruptException(dir, List.of(manifestFile + ": unreadable: " + e), fix);
    } catch (final Manifest.InvalidManifestException e) {
      throw new CheckpointCorruptException(dir, List.of(manifestFile + ": " + e.getMessage()), fix);
    }

    final List<String> problems = new ArrayList<>();
    final DirName name = DirName.parse(dir.getFileName().toString());
    if (name != null && name.step() != manifest.step()) {
      problems.add(
          manifestFile
              + ": says step "
              + manifest.step()
              + ", the directory name says step "
              + name.step());
    }
    final Map<String, Path> files = new LinkedHashMap<>();
    for (final Manifest.Entry entry : manifest.entries()) {
      final Path file = dir.resolve(entry.name());
      final String problem = checkFile(file, entry);
      if (problem != null) {
        problems.add(file + ": " + problem);
      }
      files.put(entry.name(), file);
    }
    if (!problems.isEmpty()) {
      throw new CheckpointCorruptException(dir, problems, fix);
    }
    return new StoredCheckpoint(dir, manifest.step(), files, skipped);
  }

  /** Null if the file has the manifest's size and CRC32C, else what is wrong. */
  private static String checkFile(final Path file, final Manifest.Entry entry) {
    final long size;
    try {
      if (!Files.isRegularFile(file)) {
        return Files.exists(file) ? "not a regular file" : "missing";
      }
      size = Files.size(file);
      if (size < entry.size()) {
        return "truncated: " + size + " of " + entry.size() + " bytes";
      }
      if (size > entry.size()) {
        return "too long: " + size + " bytes, the manifest says " + entry.size();
      }
      final long crc = crc32c(file);
      if (crc != entry.crc32c()) {
        return "checksum mismatch: expected crc32c "
            + Manifest.hex(entry.crc32c())
            + ", file has "
            + Manifest.hex(crc);
      }
      return null;
    } catch (final IOException e) {
      return "unreadable: " + e;
    }
  }

  private static long crc32c(final Path file) throws IOException {
    final CRC32C crc = new CRC32C();
    final ByteBuffer buffer = ByteBuffer.allocate(READ_CHUNK);
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      while (ch.read(buffer) >= 0) {
        buffer.flip();
        crc.update(buffer);
        buffer.clear();
      }
    }
    return crc.getValue();
  }

  // ---- names ----

  private List<DirName> listCommittedUnchecked() {
    try {
      return listCommitted();
    } catch (final IOException e) {
      throw new CheckpointException("cannot list the checkpoints in " + root + ": " + e, e);
    }
  }

  /** Committed checkpoint directories, oldest first; empty if the root does not exist. */
  private List<DirName> listCommitted() throws IOException {
    if (!Files.isDirectory(root)) {
      return List.of();
    }
    final List<DirName> names = new ArrayList<>();
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(root)) {
      for (final Path p : entries) {
        final DirName d = DirName.parse(p.getFileName().toString());
        if (d != null && Files.isDirectory(p)) {
          names.add(d);
        }
      }
    }
    names.sort(Comparator.naturalOrder());
    return names;
  }

  /**
   * A committed directory's name: {@code step-%08d}, with {@code -r<revision>} when the step was
   * committed again. Ordered by step, then revision, which is the order they were committed in.
   */
  private record DirName(long step, int revision) implements Comparable<DirName> {
    /** The name's step and revision, or null if {@code name} is not a committed directory name. */
    static DirName parse(final String name) {
      final Matcher m = DIR_NAME.matcher(name);
      if (!m.matches()) {
        return null;
      }
      try {
        return new DirName(
            Long.parseLong(m.group(1)), m.group(2) == null ? 0 : Integer.parseInt(m.group(2)));
      } catch (final NumberFormatException e) {
        return null; // more digits than a long holds: not one of ours
      }
    }

    @Override
    public int compareTo(final DirName o) {
      final int byStep = Long.compare(step, o.step);
      return byStep != 0 ? byStep : Integer.compare(revision, o.revision);
    }

    @Override
    public String toString() {
      return String.format("step-%08d", step) + (revision == 0 ? "" : "-r" + revision);
    }
  }

  /**
   * Passes every byte to the file, counting them and updating the CRC32C as they go; never writes
   * partially. {@link #close} only stops further writes: the store closes the file itself.
   */
  private static final class ChecksummingChannel implements WritableByteChannel {
    private final FileChannel file;
    private final CRC32C crc = new CRC32C();
    private long size;
    private boolean open = true;

    ChecksummingChannel(final FileChannel file) {
      this.file = file;
    }

    @Override
    public int write(final ByteBuffer src) throws IOException {
      if (!open) {
        throw new ClosedChannelException();
      }
      final int start = src.position();
      while (src.hasRemaining()) {
        file.write(src);
      }
      final int written = src.position() - start;
      // Checksum the bytes just written: rewind to where they began; update consumes to the limit.
      src.position(start);
      crc.update(src);
      size += written;
      return written;
    }

    @Override
    public boolean isOpen() {
      return open;
    }

    @Override
    public void close() {
      open = false;
    }
  }
}
