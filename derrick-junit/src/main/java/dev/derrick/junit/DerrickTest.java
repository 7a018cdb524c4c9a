package dev.derrick.junit;

import org.junit.jupiter.api.extension.ExtendWith;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Inherited;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Turns on derrick's JUnit 5 extension for a test class: fields and parameters annotated with
 * {@link DerrickWorkspace} get ready workspaces, and every workspace and provider the extension opened is closed
 * when its test or class ends, also when it fails or is aborted.
 *
 * <pre>{@code
 * @DerrickTest
 * class BuildTest {
 *     @DerrickWorkspace(config = "classpath:workspace.json")
 *     Workspace workspace;                       // a fresh workspace for every test
 *
 *     @Test
 *     void builds() {
 *         assertThat(workspace.exec("make -C code/repo").succeeded()).isTrue();
 *     }
 * }
 * }</pre>
 *
 * <p>With {@link #disabledWithoutProvider()} a test whose provider cannot work here (no Docker engine, say) is
 * reported as disabled with the provider's reason, like Testcontainers' {@code disabledWithoutDocker}. When the
 * environment variable {@code DERRICK_REQUIRE_<NAME>} (e.g. {@code DERRICK_REQUIRE_DOCKER}) or the JUnit
 * configuration parameter {@code derrick.require.<name>} is {@code true}, as on CI, an unavailable provider fails the
 * test class instead.
 *
 * <p>Equivalent to {@code @ExtendWith(DerrickExtension.class)} when {@link #disabledWithoutProvider()} is not needed.
 *
 * @see DerrickWorkspace
 * @see DerrickExtension
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@Documented
@Inherited
@ExtendWith(DerrickExtension.class)
public @interface DerrickTest {
    /**
     * Disable (visibly, with the provider's reason) the tests whose workspaces come from a provider whose
     * {@link dev.derrick.api.spi.WorkspaceProviderFactory#probe probe} says it cannot work here, instead of
     * failing them. A provider name that is not on the class path at all is still an error.
     */
    boolean disabledWithoutProvider() default false;
}
