package io.synctower.coordinator.doctor;

import java.util.List;
import java.util.Objects;

/**
 * The per-layer (or per-option) numbers behind a finding, shown as aligned columns in the terminal
 * and as a Markdown table in {@code doctor.md}.
 *
 * @param header column titles
 * @param rows each as long as the header
 */
public record Table(List<String> header, List<List<String>> rows) {
  public Table {
    header = List.copyOf(Objects.requireNonNull(header, "header"));
    rows = rows.stream().map(List::copyOf).toList();
    for (final List<String> row : rows) {
      if (row.size() != header.size()) {
        throw new IllegalArgumentException("row " + row + " does not match header " + header);
      }
    }
  }

  /** No details. */
  public static Table none() {
    return new Table(List.of(), List.of());
  }

  public boolean isEmpty() {
    return rows.isEmpty();
  }
}
