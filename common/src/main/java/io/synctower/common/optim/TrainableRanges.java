package io.synctower.common.optim;

import java.util.ArrayList;
import java.util.List;

/**
 * The trainable parts of a flat parameter buffer, as sorted, non-overlapping, non-adjacent {@code
 * [offset, offset + length)} ranges. Frozen layers (a pretrained backbone, a BN layer with {@code
 * trainable: false}) are simply absent, so optimizers never touch them.
 */
public record TrainableRanges(List<Range> ranges) {
  /** One contiguous range of the flat buffer. */
  public record Range(long offset, long length) {
    public Range {
      if (offset < 0 || length <= 0) {
        throw new IllegalArgumentException("bad range offset=" + offset + " length=" + length);
      }
    }

    public long end() {
      return offset + length;
    }
  }

  public TrainableRanges {
    ranges = List.copyOf(ranges);
    for (int i = 1; i < ranges.size(); i++) {
      if (ranges.get(i).offset() <= ranges.get(i - 1).end()) {
        throw new IllegalArgumentException("ranges must be sorted and non-adjacent: " + ranges);
      }
    }
  }

  /** Everything trainable: one range {@code [0, length)} (none if length is 0). */
  public static TrainableRanges all(final long length) {
    return new TrainableRanges(length == 0 ? List.of() : List.of(new Range(0, length)));
  }

  /** Builds ranges from per-segment flags, merging adjacent trainable segments. */
  public static final class Builder {
    private final List<Range> ranges = new ArrayList<>();
    private long offset;

    /** Appends a segment of {@code length} elements, trainable or not. */
    public Builder add(final long length, final boolean trainable) {
      if (trainable && length > 0) {
        final int last = ranges.size() - 1;
        if (last >= 0 && ranges.get(last).end() == offset) {
          ranges.set(
              last, new Range(ranges.get(last).offset(), ranges.get(last).length() + length));
        } else {
          ranges.add(new Range(offset, length));
        }
      }
      offset += length;
      return this;
    }

    public TrainableRanges build() {
      return new TrainableRanges(ranges);
    }
  }

  /** Total number of trainable elements. */
  public long trainableCount() {
    long n = 0;
    for (final Range r : ranges) {
      n += r.length();
    }
    return n;
  }
}
