package dev.derrick.junit.internal;

import dev.derrick.api.DerrickException;
import dev.derrick.api.ProviderNotFoundException;
import dev.derrick.api.Workspace;
import dev.derrick.api.WorkspaceProvider;
import dev.derrick.api.WorkspaceProviders;
import org.junit.jupiter.api.extension.ExtensionConfigurationException;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.util.ArrayList;
import java.util.List;

/**
 * A provider opened on first use and closed with the test class's store. It is left open when it holds a workspace
 * kept for debugging that it could not detach, because closing a provider ends every workspace it made.
 */
public final class ProviderHandle implements ExtensionContext.Store.CloseableResource {
    private static final System.Logger LOG = System.getLogger("dev.derrick.junit");

    private final ProviderKey key;
    private WorkspaceProvider provider;
    private final List<String> kept = new ArrayList<>();
    private boolean closed;

    public ProviderHandle(ProviderKey key) {
        this.key = key;
    }

    /** The provider, opened on first call. */
    public synchronized WorkspaceProvider provider() {
        if (closed) {
            throw new IllegalStateException("provider " + key + " was already closed by the derrick extension");
        }
        if (provider == null) {
            try {
                provider = WorkspaceProviders.open(key.name(), key.options());
            } catch (ProviderNotFoundException e) {
                throw new ExtensionConfigurationException(e.getMessage(), e);
            } catch (IllegalArgumentException e) {
                throw new ExtensionConfigurationException("cannot open provider '" + key.name() + "': " + e.getMessage(), e);
            }
        }
        return provider;
    }

    /** Remembers that {@code workspace} is kept on purpose and could not be detached, so this provider stays open. */
    public synchronized void keep(Workspace workspace, String where) {
        kept.add(where);
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (provider == null) {
            return;
        }
        if (!kept.isEmpty()) {
            LOG.log(System.Logger.Level.WARNING, "derrick: provider " + key + " left open so that the workspace(s) kept for "
                    + String.join(", ", kept) + " survive until the JVM ends");
            return;
        }
        try {
            provider.close();
        } catch (DerrickException e) {
            LOG.log(System.Logger.Level.WARNING, "derrick: closing provider " + key + " failed: " + e.getMessage(), e);
            throw e;
        }
    }
}
