package io.synctower.worker.transport;

/** How the members of a group reach each other's inboxes. */
public enum TransportKind {
  /**
   * Aeron IPC ({@code aeron:ipc}): shared-memory logs in one media driver, so every member must use
   * the same driver directory (one driver per host). Endpoints are not used.
   */
  IPC,
  /**
   * Aeron UDP unicast ({@code aeron:udp?endpoint=host:port}): each member receives on its own
   * endpoint; works across hosts and, over loopback, between processes with separate drivers.
   */
  UDP
}
