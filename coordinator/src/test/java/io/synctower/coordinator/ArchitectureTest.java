package io.synctower.coordinator;

import static com.tngtech.archunit.base.DescribedPredicate.not;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.INTERFACES;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAPackage;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAnyPackage;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.core.importer.Location;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The layering of docs/design.md ("Modules and packages") as rules over the compiled main classes
 * of common, worker and coordinator (this module's test classpath sees all three). A change that
 * breaks the layering fails here with the offending dependency named, class and line.
 *
 * <p>Plain JUnit Jupiter tests over ArchUnit's core library rather than ArchUnit's own JUnit 5
 * engine: that engine (1.5.0) is built against JUnit Platform 1.14, and the project pins JUnit
 * 5.10.
 */
class ArchitectureTest {
  private static final String AERON = "io.aeron..";
  private static final String AGRONA = "org.agrona..";
  private static final String SBE = "uk.co.real_logic.sbe..";

  private static JavaClasses classes;

  @BeforeAll
  static void importMainClasses() {
    classes =
        new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .withImportOption(ArchitectureTest::notATestJar)
            .importPackages("io.synctower");
  }

  /** Leaves out common's test-jar when it is resolved as a jar rather than as test-classes. */
  private static boolean notATestJar(final Location location) {
    return !location.contains("-tests.jar");
  }

  @Test
  void shouldImportEveryModule() {
    // A guard for the rules below: an empty import would make every "no classes should" pass.
    for (final String module : new String[] {"common", "worker", "coordinator"}) {
      if (classes.stream()
          .noneMatch(c -> c.getPackageName().startsWith("io.synctower." + module))) {
        throw new AssertionError("no classes of io.synctower." + module + " on the classpath");
      }
    }
  }

  @Test
  void shouldHaveNoPackageCycles() {
    slices().matching("io.synctower.(**)").should().beFreeOfCycles().check(classes);
  }

  @Test
  void commonShouldKnowNothingOfWorkerOrCoordinator() {
    noClasses()
        .that()
        .resideInAPackage("io.synctower.common..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage("io.synctower.worker..", "io.synctower.coordinator..")
        .check(classes);
  }

  @Test
  void commonShouldUseAeronAgronaAndSbeOnlyInProtocol() {
    noClasses()
        .that()
        .resideInAPackage("io.synctower.common..")
        .and()
        .resideOutsideOfPackage("io.synctower.common.protocol..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage(AERON, AGRONA, SBE)
        .check(classes);
  }

  @Test
  void batchNormShouldKnowNoTransport() {
    // BN sees a StatsReducer and, for precise BN, the Collective interface; never an
    // implementation, a message or a socket.
    noClasses()
        .that()
        .resideInAPackage("io.synctower.common.bn..")
        .should()
        .dependOnClassesThat(
            resideInAnyPackage(
                    "io.synctower.common.protocol..",
                    "io.synctower.worker..",
                    AERON,
                    AGRONA,
                    SBE,
                    "java.net..",
                    "java.nio.channels..")
                .or(resideInAPackage("io.synctower.common.comm..").and(not(INTERFACES))))
        .check(classes);
  }

  @Test
  void layersShouldNotKnowBatchNorm() {
    // nn is the layer API and the model; bn builds on it (BatchNorm is a layer), not the reverse.
    noClasses()
        .that()
        .resideInAPackage("io.synctower.common.nn..")
        .should()
        .dependOnClassesThat()
        .resideInAPackage("io.synctower.common.bn..")
        .check(classes);
  }

  @Test
  void workerShouldNotDependOnTheCoordinator() {
    noClasses()
        .that()
        .resideInAPackage("io.synctower.worker..")
        .should()
        .dependOnClassesThat()
        .resideInAPackage("io.synctower.coordinator..")
        .check(classes);
  }
}
