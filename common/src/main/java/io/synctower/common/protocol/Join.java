package io.synctower.common.protocol;

import java.util.List;
import java.util.Objects;

/**
 * The join handshake of a worker process:
 *
 * <pre>
 * worker -> coordinator  Request(rank, endpoints)         not authenticated
 * coordinator -> worker  Challenge(runId, rank, nonce)    fresh 32 random bytes per attempt
 * worker -> coordinator  Proof(runId, rank, hmac)         HMAC-SHA256(secret, transcript)
 * coordinator -> worker  Welcome(runId, rank, peers, config) once every rank has proven itself
 * </pre>
 *
 * From the Welcome on, every control frame carries an HMAC tag, so a process without the run's
 * secret can neither join nor inject a message.
 */
public sealed interface Join extends Message {
  /** The sender id the coordinator uses in envelopes (towers use their rank). */
  int COORDINATOR = -1;

  /**
   * @param controlEndpoint where the coordinator sends this worker's control messages ({@code
   *     host:port} for UDP, empty for IPC)
   * @param dataEndpoint where the other towers send this worker's collective traffic
   */
  record Request(
      int rank,
      int worldSize,
      long pid,
      int device,
      String host,
      String controlEndpoint,
      String dataEndpoint)
      implements Join {
    public Request {
      Objects.requireNonNull(host, "host");
      Objects.requireNonNull(controlEndpoint, "controlEndpoint");
      Objects.requireNonNull(dataEndpoint, "dataEndpoint");
    }

    @Override
    public long runId() {
      return 0;
    }
  }

  /** {@code nonce}: 32 bytes. */
  record Challenge(long runId, int rank, byte[] nonce) implements Join {}

  /** {@code proof}: 32 bytes, HMAC-SHA256 over the transcript ({@code JoinAuth}). */
  record Proof(long runId, int rank, byte[] proof) implements Join {}

  /**
   * @param dataEndpoints every tower's data endpoint, by rank
   * @param configYaml the resolved run configuration every tower builds its replica from
   */
  record Welcome(long runId, int rank, int worldSize, List<String> dataEndpoints, String configYaml)
      implements Join {
    public Welcome {
      dataEndpoints = List.copyOf(dataEndpoints);
      Objects.requireNonNull(configYaml, "configYaml");
    }
  }
}
