package dev.derrick.api.spi;

import dev.derrick.api.WorkspaceProvider;

import java.util.Map;
import java.util.Set;

/**
 * The service interface a backend implements, registered in
 * {@code META-INF/services/dev.derrick.api.spi.WorkspaceProviderFactory}. Modelled on the JDK's
 * {@code FileSystemProvider}: a short lowercase name, options as a map.
 *
 * <p>A factory needs a public no-argument constructor that does no I/O; work starts in {@link #open(Map)}.
 *
 * <pre>{@code
 * public final class MyFactory implements WorkspaceProviderFactory {
 *     public String name() { return "my_cloud"; }
 *     public String description() { return "workspaces on my cloud"; }
 *     public WorkspaceProvider open(Map<String, ?> options) { return new MyProvider(options); }
 * }
 * }</pre>
 */
public interface WorkspaceProviderFactory {
    /** Short lowercase name, e.g. {@code local}; compared case-insensitively. */
    String name();

    /** One line for {@code --help}. */
    String description();

    /** Option keys {@link #open(Map)} accepts; others are rejected with {@link IllegalArgumentException}. */
    default Set<String> supportedOptions() {
        return Set.of();
    }

    /** A cheap check of whether the provider can work with these options, saying why not. No side effects. */
    default Availability probe(Map<String, ?> options) {
        return Availability.yes(description());
    }

    /**
     * Opens a provider.
     *
     * @throws IllegalArgumentException for an unknown option key or a bad value
     * @throws dev.derrick.api.ProviderUnavailableException when what it needs is not there
     */
    WorkspaceProvider open(Map<String, ?> options);
}
