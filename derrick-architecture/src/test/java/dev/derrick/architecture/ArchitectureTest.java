package dev.derrick.architecture;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Module boundaries, over the main classes of every module, and for internal packages over the other modules' test
 * classes too (a test may use its own module's internals, not another's). See docs/architecture.md, "Module
 * boundaries".
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

    /** The other modules' compiled tests ({@code ../derrick-*&#47;target/test-classes}); the reactor builds them first. */
    @Test
    void noModulesTestsUseAnotherModulesInternalPackages() throws IOException {
        Path root = Path.of("").toAbsolutePath().getParent();
        List<Path> testClasses;
        try (Stream<Path> modules = Files.list(root)) {
            testClasses = modules.filter(m -> m.getFileName().toString().startsWith("derrick-"))
                    .filter(m -> !m.getFileName().toString().equals("derrick-architecture"))
                    .map(m -> m.resolve("target/test-classes")).filter(Files::isDirectory).sorted().toList();
        }
        assertThat(testClasses).as("compiled tests of the other modules (build with -am)")
                .extracting(p -> p.getParent().getParent().getFileName().toString())
                .contains("derrick-core", "derrick-local", "derrick-docker", "derrick-remote", "derrick-server",
                        "derrick-junit");
        JavaClasses tests = new ClassFileImporter().importPaths(testClasses);
        assertThat(Modules.present(tests)).contains("derrick-server");
        Modules.noCrossModuleInternalAccess().check(tests);
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
