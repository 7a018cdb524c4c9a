package dev.derrick.architecture;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import dev.derrick.architecture.fixture.ReachesIntoLocal;
import dev.derrick.architecture.fixture.Wire;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The rules are not vacuous: fed classes that break them (this module's fixtures), they fail. */
class RulesCatchViolationsTest {
    @Test
    void aCrossModuleInternalImportFails() {
        JavaClasses classes = new ClassFileImporter().importClasses(ReachesIntoLocal.class,
                dev.derrick.local.internal.TreeDeleter.class);
        assertThatThrownBy(() -> Modules.noCrossModuleInternalAccess().check(classes))
                .isInstanceOf(AssertionError.class)
                .hasMessageContaining("derrick-architecture uses derrick-local's internal dev.derrick.local.internal.TreeDeleter");
    }

    @Test
    void aSharedSimpleNameFails() {
        JavaClasses classes = new ClassFileImporter().importClasses(Wire.class, dev.derrick.core.wire.Wire.class);
        assertThatThrownBy(() -> Modules.uniqueSimpleNames().check(classes))
                .isInstanceOf(AssertionError.class)
                .hasMessageContaining("dev.derrick.core.wire.Wire (derrick-core) shares its simple name");
    }
}
