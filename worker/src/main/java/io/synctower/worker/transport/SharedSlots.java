package io.synctower.worker.transport;

import java.io.File;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import org.agrona.BitUtil;
import org.agrona.IoUtil;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * The shared memory of one IPC group member: a file of its own, mapped by it and, read-only in
 * effect, by every peer (members of one media driver are on one host), holding the member's slot
 * and its counters. Single writer: a member writes only its own file; peers only read it.
 *
 * <p>What a member does with it (the steps and why they are safe are in {@code AeronCollective}):
 * fill part {@code k % 3} of its slot, {@link #publish} how many steps it has done, wait until
 * every peer's {@link #written} count is as far, read the peers' parts; no lock, no system call.
 *
 * <p>Layout (little endian; the counter on a 128-byte line of its own, away from the data the owner
 * writes): magic, size, rank, piece bytes; the written count; per part the round and signature of
 * the piece in it; the initial term id of this member's Aeron publication to each rank (a peer maps
 * this file only if the id matches the image it receives: a stale file of an earlier incarnation of
 * the group, or of an earlier run, is never mapped); then the three parts, page aligned.
 *
 * <p>Files are created under a temporary name and renamed into place complete, so a peer sees a
 * whole file or none. The owner deletes its file on {@link #unlink} (on failure) and {@link
 * #close}. A process that dies leaves its file in the Aeron directory until the driver deletes the
 * directory (SyncTower's drivers delete it on start and shutdown).
 *
 * <p>Not thread safe except {@link #unlink}: the member's own thread only.
 */
final class SharedSlots implements AutoCloseable {
  private static final long MAGIC = 0x5354_5348_4D5F_0001L; // "STSHM_", layout version 1
  private static final int LINE = 128;
  private static final int MAGIC_OFFSET = 0;
  private static final int SIZE_OFFSET = 8;
  private static final int RANK_OFFSET = 12;
  private static final int PIECE_BYTES_OFFSET = 16;
  private static final int WRITTEN_OFFSET = LINE;
  private static final int PART_OFFSET = 2 * LINE; // per part: round, signature
  private static final int TERM_IDS_OFFSET = 3 * LINE;

  /** Parts of a slot: a piece each, reused round robin. */
  static final int PARTS = 3;

  private final Path directory;
  private final long runKey;
  private final int groupId;
  private final int rank;
  private final int size;
  private final int pieceBytes;
  private final int dataOffset;
  private final Path ownPath;
  private final MappedByteBuffer[] mapped;
  private final UnsafeBuffer[] files;
  // Address of part h of rank q's slot: parts[PARTS * q + h]; 0 until q is mapped.
  private final long[] parts;
  private Object fileKey; // the inode of our file: unlink never deletes a successor's
  private boolean unlinked;

  /**
   * Creates this member's file in {@code directory} (peers are mapped later, by {@link #mapPeer}).
   *
   * @param termIds the initial term id of this member's publication to each rank (own: any)
   */
  SharedSlots(
      final Path directory,
      final long runKey,
      final int groupId,
      final int rank,
      final int size,
      final int pieceBytes,
      final int[] termIds) {
    this.directory = directory;
    this.runKey = runKey;
    this.groupId = groupId;
    this.rank = rank;
    this.size = size;
    this.pieceBytes = pieceBytes;
    this.dataOffset = BitUtil.align(TERM_IDS_OFFSET + 4 * size, 4096);
    this.mapped = new MappedByteBuffer[size];
    this.files = new UnsafeBuffer[size];
    this.parts = new long[PARTS * size];
    this.ownPath = path(rank);
    final long fileLength = (long) dataOffset + (long) PARTS * pieceBytes;
    Path tmp = null;
    try {
      tmp = Files.createTempFile(directory, ownPath.getFileName() + ".", ".tmp");
      try (RandomAccessFile raf = new RandomAccessFile(tmp.toFile(), "rw")) {
        raf.setLength(fileLength);
        mapped[rank] = raf.getChannel().map(FileChannel.MapMode.READ_WRITE, 0, fileLength);
      }
      final UnsafeBuffer own = new UnsafeBuffer(mapped[rank]);
      files[rank] = own;
      own.putInt(SIZE_OFFSET, size);
      own.putInt(RANK_OFFSET, rank);
      own.putInt(PIECE_BYTES_OFFSET, pieceBytes);
      for (int q = 0; q < size; q++) {
        own.putInt(TERM_IDS_OFFSET + 4 * q, termIds[q]);
      }
      own.putLongRelease(MAGIC_OFFSET, MAGIC);
      fileKey = Files.readAttributes(tmp, BasicFileAttributes.class).fileKey();
      Files.move(tmp, ownPath, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      tmp = null;
    } catch (IOException e) {
      close();
      throw new UncheckedIOException(
          "cannot create the shared-memory file "
              + ownPath
              + " for IPC all-reduce ("
              + e
              + "); free space in the Aeron directory, or set "
              + DataChannels.SHARED_MEMORY_ENV
              + "=off",
          e);
    } finally {
      if (tmp != null) {
        try {
          Files.deleteIfExists(tmp);
        } catch (IOException ignored) {
          // best effort: the temporary name is unique and the driver deletes its directory
        }
      }
    }
    setParts(rank, own().addressOffset() + dataOffset);
  }

  /**
   * Where rank q's file lives: one name per run, group and rank (a new incarnation replaces it).
   */
  Path path(final int q) {
    return directory.resolve(
        "synctower-shm-" + Long.toHexString(runKey) + "-g" + groupId + "-r" + q + ".dat");
  }

  int pieceBytes() {
    return pieceBytes;
  }

  /**
   * Maps rank q's file if it is there, complete, of this group's shape, and written by the
   * publication whose image this member receives ({@code termId}, its initial term id). Returns
   * false to be retried (not there yet, or a stale file that its owner will replace).
   */
  boolean mapPeer(final int q, final int termId) {
    if (files[q] != null) {
      return true;
    }
    final File file = path(q).toFile();
    final long fileLength = (long) dataOffset + (long) PARTS * pieceBytes;
    if (!file.isFile() || file.length() != fileLength) {
      return false;
    }
    final MappedByteBuffer m;
    try {
      m = IoUtil.mapExistingFile(file, "shared slot of rank " + q);
    } catch (IllegalStateException e) {
      return false; // deleted between the check and the map: its owner replaces it
    }
    final UnsafeBuffer b = new UnsafeBuffer(m);
    if (b.capacity() != fileLength
        || b.getLongVolatile(MAGIC_OFFSET) != MAGIC
        || b.getInt(SIZE_OFFSET) != size
        || b.getInt(RANK_OFFSET) != q
        || b.getInt(PIECE_BYTES_OFFSET) != pieceBytes
        || b.getInt(TERM_IDS_OFFSET + 4 * rank) != termId) {
      IoUtil.unmap(m);
      return false;
    }
    mapped[q] = m;
    files[q] = b;
    setParts(q, b.addressOffset() + dataOffset);
    return true;
  }

  private void setParts(final int q, final long first) {
    for (int h = 0; h < PARTS; h++) {
      parts[PARTS * q + h] = first == 0 ? 0 : first + (long) h * pieceBytes;
    }
  }

  /** Address of part h of rank q's slot (q mapped). */
  long slot(final int q, final int h) {
    return parts[PARTS * q + h];
  }

  /** The written count rank q has published, with acquire semantics. */
  long written(final int q) {
    return files[q].getLongVolatile(WRITTEN_OFFSET);
  }

  /** The round of the piece in rank q's part h (valid once q's written count covers it). */
  long round(final int q, final int h) {
    return files[q].getLong(PART_OFFSET + h * 16);
  }

  /** The signature of the round of the piece in rank q's part h. */
  long signature(final int q, final int h) {
    return files[q].getLong(PART_OFFSET + h * 16 + 8);
  }

  /** Publishes this member's part h (filled) with its round and signature, and the step count. */
  void publish(final int h, final long round, final long signature, final long written) {
    final UnsafeBuffer own = own();
    own.putLong(PART_OFFSET + h * 16, round);
    own.putLong(PART_OFFSET + h * 16 + 8, signature);
    own.putLongRelease(WRITTEN_OFFSET, written);
  }

  private UnsafeBuffer own() {
    return files[rank];
  }

  /**
   * Deletes this member's file (its mappings stay valid) unless a later incarnation already
   * replaced it. Any thread; idempotent.
   */
  synchronized void unlink() {
    if (unlinked) {
      return;
    }
    unlinked = true;
    try {
      if (fileKey != null
          && fileKey.equals(Files.readAttributes(ownPath, BasicFileAttributes.class).fileKey())) {
        Files.deleteIfExists(ownPath);
      }
    } catch (IOException ignored) {
      // best effort: the driver deletes its directory
    }
  }

  /** Deletes this member's file and unmaps every mapping. Owner thread, no call in flight. */
  @Override
  public void close() {
    unlink();
    for (int q = 0; q < size; q++) {
      if (mapped[q] != null) {
        IoUtil.unmap(mapped[q]);
        mapped[q] = null;
        files[q] = null;
        setParts(q, 0);
      }
    }
  }
}
