package dev.derrick.junit;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Asks for a ready {@link dev.derrick.api.Workspace} in a field or parameter of a {@link DerrickTest} class.
 *
 * <ul>
 *   <li>a {@code static} field holds one workspace for the whole class (created before the first test, torn down
 *       after the last); with {@link #resetBetweenTests()} it is reset to its clean state before every test but the
 *       first;</li>
 *   <li>an instance field holds a fresh workspace for every test;</li>
 *   <li>a parameter of a test, {@code @BeforeEach} or {@code @AfterEach} method gets a fresh workspace for that test;
 *       a parameter of a {@code @BeforeAll} method gets one for the class.</li>
 * </ul>
 *
 * <pre>{@code
 * @DerrickTest
 * class RepoTest {
 *     @DerrickWorkspace(config = "classpath:workspace.json", resetBetweenTests = true)
 *     static Workspace shared;                   // one per class, reset between tests
 *
 *     @Test
 *     void compiles(@DerrickWorkspace(config = "src/test/resources/other.json", provider = "docker")
 *                   Workspace fresh) {
 *         assertThat(fresh.exec("make").succeeded()).isTrue();
 *     }
 * }
 * }</pre>
 *
 * <p>Providers are opened once per test class and provider name plus options, and closed after the class. When a
 * provider caches clean states, every fresh workspace after the first comes from its cache, so a workspace per test
 * stays cheap. Misuse — a field that is not of type {@code Workspace}, a {@code final} field, a config that cannot
 * be found or read, an unknown provider or option — fails with an
 * {@link org.junit.jupiter.api.extension.ExtensionConfigurationException} that names the field and what was wrong.
 */
@Target({ElementType.FIELD, ElementType.PARAMETER})
@Retention(RetentionPolicy.RUNTIME)
@Documented
public @interface DerrickWorkspace {
    /**
     * The workspace config: {@code classpath:workspace.json} for a class-path resource (looked up from the class-path
     * root, then next to the test class), or a file path (relative paths are resolved against the working directory,
     * which is the module directory under Maven).
     */
    String config();

    /** The provider's name, as for {@link dev.derrick.api.WorkspaceProviders#open(String)}: {@code local} by default. */
    String provider() default "local";

    /** Provider options as {@code key=value} strings, passed to {@link dev.derrick.api.WorkspaceProviders#open(String, java.util.Map)}. */
    String[] options() default {};

    /**
     * For a class-scoped workspace (a {@code static} field or a {@code @BeforeAll} parameter): reset it with
     * {@link dev.derrick.api.Workspace#reset()} before every test but the first. Not allowed when the class's tests
     * run concurrently, and meaningless (so rejected) for per-test workspaces.
     */
    boolean resetBetweenTests() default false;

    /** When the workspace is torn down; see {@link CleanupMode}. */
    CleanupMode cleanup() default CleanupMode.ALWAYS;
}
