package io.synctower.common.protocol;

import java.util.List;
import java.util.Objects;

/**
 * The join handshake of a worker process:
 *
 * <pre>
 * worker -> coordinator  Request(rank, pid, endpoints)    not authenticated
 * coordinator -> worker  Challenge(runId, rank, nonce, pid) fresh 32 random bytes per attempt
 * worker -> coordinator  Proof(runId, rank, hmac)          HMAC-SHA256(secret, transcript)
 * coordinator -> worker  Welcome(runId, rank, pid, peers, config) once every rank has proven itself
 *                    or  Refused(runId, rank, pid, reason) when another process holds the rank
 * </pre>
 *
 * From the Welcome (and a Refused) on, every control frame carries an HMAC tag, so a process
 * without the run's secret can neither join nor inject a message, nor turn a worker away.
 *
 * <p>One join per rank: the first claimant of a rank to prove the secret holds it; every other
 * claimant is {@link Refused} and never welcomed. The coordinator's answers carry the pid of the
 * request they answer, because over IPC every process listening as rank r reads rank r's stream:
 * each worker ignores a Challenge, Welcome or Refused addressed to another pid.
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

  /**
   * @param nonce 32 bytes
   * @param pid the pid of the {@link Request} it answers: only that process may take it up
   */
  record Challenge(long runId, int rank, byte[] nonce, long pid) implements Join {}

  /** {@code proof}: 32 bytes, HMAC-SHA256 over the transcript ({@code JoinAuth}). */
  record Proof(long runId, int rank, byte[] proof) implements Join {}

  /**
   * @param pid the pid of the welcomed worker (the one whose proof the coordinator accepted)
   * @param dataEndpoints every tower's data endpoint, by rank
   * @param configYaml the resolved run configuration every tower builds its replica from
   */
  record Welcome(
      long runId, int rank, int worldSize, long pid, List<String> dataEndpoints, String configYaml)
      implements Join {
    public Welcome {
      dataEndpoints = List.copyOf(dataEndpoints);
      Objects.requireNonNull(configYaml, "configYaml");
    }
  }

  /**
   * The coordinator turns away a claimant of {@code rank}: another process holds it (or, over IPC,
   * the run no longer takes joins). Authenticated like the Welcome.
   *
   * @param pid the pid of the refused {@link Request}: only that process acts on it
   * @param reason for the refused worker's error message, e.g. who holds the rank
   */
  record Refused(long runId, int rank, long pid, String reason) implements Join {
    public Refused {
      Objects.requireNonNull(reason, "reason");
    }
  }
}
