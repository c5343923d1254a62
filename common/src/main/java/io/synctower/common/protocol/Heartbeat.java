package io.synctower.common.protocol;

/**
 * "I am alive", sent both ways on a fixed period by a thread that never computes, so a tower busy
 * in a long step still beats. {@code sender} is a tower rank, or {@link Join#COORDINATOR}.
 */
public record Heartbeat(long runId, int sender, long sentEpochMillis) implements Message {}
