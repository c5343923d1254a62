package io.synctower.coordinator.cluster;

import io.aeron.Publication;
import io.synctower.common.protocol.Join;

/**
 * A worker process that proved it holds the run's secret and holds its rank for the whole run.
 *
 * @param request what it sent to join (rank, host, pid, device, endpoints)
 * @param publication the control channel to it
 * @param session the Aeron session id of its control messages: another connection claiming its rank
 *     is not it
 */
record JoinedTower(Join.Request request, Publication publication, int session) {
  int rank() {
    return request.rank();
  }

  /** How errors and the run log name it, e.g. {@code tower 1 (node2, pid 4711)}. */
  String name() {
    return "tower " + request.rank() + " (" + request.host() + ", pid " + request.pid() + ")";
  }
}
