package dev.derrick.junit;

/**
 * When the extension tears down a workspace it injected, in the manner of JUnit's {@code TempDir} cleanup modes.
 *
 * <pre>{@code
 * @DerrickWorkspace(config = "classpath:workspace.json", cleanup = CleanupMode.ON_SUCCESS)
 * Workspace workspace;   // kept for inspection when the test fails; its id and root are logged
 * }</pre>
 *
 * <p>A kept workspace is not closed, and neither is the provider that made it (closing a provider ends all of its
 * workspaces), so it survives until the JVM ends; what the provider does then (e.g. a shutdown hook, or reaping at
 * the next start) is up to the provider. Where it is is logged through {@link System.Logger} and published as a
 * JUnit report entry named {@code derrick.kept}.
 */
public enum CleanupMode {
    /** Always tear the workspace down, also after a failure (the default). */
    ALWAYS,
    /** Tear it down only when the test (or, for a class-scoped workspace, every test of the class) succeeded. */
    ON_SUCCESS,
    /** Never tear it down; for debugging only. */
    NEVER
}
