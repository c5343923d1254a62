package io.synctower.coordinator.cli;

import io.synctower.common.backend.LoadedBackend;
import io.synctower.common.backend.NativeVariant;
import picocli.CommandLine;

/**
 * Version and the ND4J backend that actually loaded, for bug reports. The backend line comes from
 * ND4J itself and the native library the process mapped ({@link LoadedBackend}), not from the
 * JavaCPP property {@link NativeVariant} sets: that property is a request, which JavaCPP may
 * ignore.
 */
final class Version implements CommandLine.IVersionProvider {
  @Override
  public String[] getVersion() {
    final String v = SyncTowerCli.class.getPackage().getImplementationVersion();
    return new String[] {
      "synctower " + (v == null ? "dev" : v),
      "ND4J backend: " + backend(),
      "Java " + System.getProperty("java.version")
    };
  }

  private static String backend() {
    try {
      return LoadedBackend.describe().describeLine();
    } catch (RuntimeException | LinkageError e) {
      // A CUDA build without a usable CUDA runtime, a missing native jar: the report is the point.
      return "failed to load ("
          + e.getClass().getSimpleName()
          + ": "
          + e.getMessage()
          + "); requested native build linux-x86_64"
          + System.getProperty(NativeVariant.PROPERTY, "");
    }
  }
}
