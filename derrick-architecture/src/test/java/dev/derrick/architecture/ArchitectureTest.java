package dev.derrick.architecture;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Module boundaries, over the main classes of every module (tests may reach into their own module's internals and
 * into other modules' for white-box checks; shipped code may not). See docs/architecture.md, "Module boundaries".
 */
class ArchitectureTest {
    private static JavaClasses main;

    @BeforeAll
    static void importMainClasses() {
        main = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("dev.derrick");
    }

    @Test
    void everyModuleIsImported() {
        assertThat(Modules.present(main)).contains("derrick-api", "derrick-core", "derrick-tck", "derrick-local",
                "derrick-docker", "derrick-remote", "derrick-server", "derrick-junit", "derrick-examples",
                "derrick-bench");
    }

    @Test
    void noModuleUsesAnotherModulesInternalPackages() {
        Modules.noCrossModuleInternalAccess().check(main);
    }

    @Test
    void theApiDependsOnTheJdkOnly() {
        Modules.apiIsJdkOnly().check(main);
    }

    @Test
    void noTwoClassesShareASimpleName() {
        Modules.uniqueSimpleNames().check(main);
    }
}
