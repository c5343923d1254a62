package io.synctower.coordinator.cli;

import io.synctower.common.backend.NativeVariant;
import picocli.CommandLine;

/** Version and the native build in force, for bug reports. */
final class Version implements CommandLine.IVersionProvider {
  @Override
  public String[] getVersion() {
    final String v = SyncTowerCli.class.getPackage().getImplementationVersion();
    return new String[] {
      "synctower " + (v == null ? "dev" : v),
      "ND4J native variant: linux-x86_64" + System.getProperty(NativeVariant.PROPERTY, ""),
      "Java " + System.getProperty("java.version")
    };
  }
}
