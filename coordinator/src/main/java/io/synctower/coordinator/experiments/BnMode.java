package io.synctower.coordinator.experiments;

/**
 * The batch-norm setting of a run in a sweep: statistics over the whole global batch (SyncBN,
 * {@code bn.sync: true}) or over each tower's own shard ({@code bn.sync: false}).
 */
public enum BnMode {
  SYNC("sync", "SyncBN"),
  LOCAL("local", "local BN");

  private final String label;
  private final String title;

  BnMode(final String label, final String title) {
    this.label = label;
    this.title = title;
  }

  /** How the CSV and file names write it: {@code sync} or {@code local}. */
  public String label() {
    return label;
  }

  /** How charts and the report name it. */
  public String title() {
    return title;
  }

  /** The value of {@code bn.sync}. */
  public boolean sync() {
    return this == SYNC;
  }

  public static BnMode of(final boolean sync) {
    return sync ? SYNC : LOCAL;
  }
}
