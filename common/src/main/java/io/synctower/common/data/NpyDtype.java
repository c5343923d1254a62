package io.synctower.common.data;

/**
 * The NumPy element types SyncTower reads and writes, all little-endian (or byte-sized), named by
 * their {@code descr} string in a {@code .npy} header.
 */
public enum NpyDtype {
  /** float32, {@code '<f4'}. */
  FLOAT32("<f4", 4, true),
  /** float64, {@code '<f8'}. */
  FLOAT64("<f8", 8, true),
  /** int8, {@code '|i1'}. */
  INT8("|i1", 1, false),
  /** uint8, {@code '|u1'}. */
  UINT8("|u1", 1, false),
  /** int16, {@code '<i2'}. */
  INT16("<i2", 2, false),
  /** int32, {@code '<i4'}. */
  INT32("<i4", 4, false),
  /** int64, {@code '<i8'}. */
  INT64("<i8", 8, false),
  /** bool, {@code '|b1'}: one byte per element, 0 = false, anything else = true (read as 1). */
  BOOL("|b1", 1, false);

  private final String descr;
  private final int itemSize;
  private final boolean floating;

  NpyDtype(final String descr, final int itemSize, final boolean floating) {
    this.descr = descr;
    this.itemSize = itemSize;
    this.floating = floating;
  }

  /** The {@code descr} string this type is written with, e.g. {@code "<f4"}. */
  public String descr() {
    return descr;
  }

  /** Bytes per element. */
  public int itemSize() {
    return itemSize;
  }

  /** True for float32 and float64. */
  public boolean isFloating() {
    return floating;
  }

  /**
   * The type for a header {@code descr}, or null if unsupported. Byte-sized types are accepted with
   * any byte-order character ({@code '|'}, {@code '<'}, {@code '>'}, {@code '='}), as NumPy does;
   * multi-byte types only as {@code '<'} (callers report big-endian separately).
   */
  static NpyDtype fromDescr(final String descr) {
    for (final NpyDtype t : values()) {
      if (t.descr.equals(descr)) {
        return t;
      }
      if (t.itemSize == 1
          && descr.length() == 3
          && "|<>=".indexOf(descr.charAt(0)) >= 0
          && descr.substring(1).equals(t.descr.substring(1))) {
        return t;
      }
    }
    return null;
  }
}
