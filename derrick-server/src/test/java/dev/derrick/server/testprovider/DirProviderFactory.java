package dev.derrick.server.testprovider;

import dev.derrick.api.WorkspaceProvider;
import dev.derrick.api.spi.WorkspaceProviderFactory;

import java.util.Map;

/**
 * A third-party-style backend living only in the server's tests: found through
 * {@code META-INF/services/dev.derrick.api.spi.WorkspaceProviderFactory} like any other, with no dependency beyond
 * derrick-api. Workspaces are temporary directories; commands run with {@code sh -c}. No repositories.
 */
public final class DirProviderFactory implements WorkspaceProviderFactory {
    @Override
    public String name() {
        return "testdir";
    }

    @Override
    public String description() {
        return "temporary directories, for the server's own tests";
    }

    @Override
    public WorkspaceProvider open(Map<String, ?> options) {
        return new DirProvider();
    }
}
