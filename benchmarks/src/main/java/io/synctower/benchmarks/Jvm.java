package io.synctower.benchmarks;

/** Flags of every forked benchmark JVM ({@code @Fork(jvmArgsAppend = ...)}). */
final class Jvm {
  /** Agrona 2.x (Aeron) reads jdk.internal.misc.Unsafe: without this it fails at class init. */
  static final String ADD_EXPORTS = "--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED";

  /** Room for two 64 MiB buffers per member and the training step; ND4J's off-heap follows it. */
  static final String HEAP = "-Xmx4g";

  /** ND4J logs its backend banner at INFO in every fork; JMH's own output is the progress. */
  static final String QUIET_LOGS = "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn";

  private Jvm() {}
}
