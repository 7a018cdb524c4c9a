package dev.derrick.junit;

/**
 * When the extension tears down a workspace it injected, in the manner of JUnit's {@code TempDir} cleanup modes.
 *
 * <pre>{@code
 * @DerrickWorkspace(config = "classpath:workspace.json", cleanup = CleanupMode.ON_SUCCESS)
 * Workspace workspace;   // kept for inspection when the test fails; its id and root are logged
 * }</pre>
 *
 * <p>A kept workspace is {@linkplain dev.derrick.api.Workspace#detach() detached}: its commands are ended, its
 * directory ({@code local}) or container ({@code docker}) stays after the provider is closed and after the JVM ends,
 * and the next start of the same provider (same {@code local} root, same Docker engine) in a later JVM removes it.
 * So it lasts until the next test run. With a provider that cannot detach (the default of
 * {@link dev.derrick.api.Workspace#detach()}), the workspace and its provider are left open instead and the workspace
 * lasts until the JVM ends. Where it is, and which of the two happened, is logged through {@link System.Logger}
 * ({@code dev.derrick.junit}, level WARNING) and published as a JUnit report entry named {@code derrick.kept}.
 */
public enum CleanupMode {
    /** Always tear the workspace down, also after a failure (the default). */
    ALWAYS,
    /** Tear it down only when the test (or, for a class-scoped workspace, every test of the class) succeeded. */
    ON_SUCCESS,
    /** Never tear it down; for debugging only. */
    NEVER
}
