package dev.derrick.junit.internal;

import dev.derrick.api.OperationNotSupportedException;
import dev.derrick.api.Workspace;
import dev.derrick.api.WorkspaceInfo;
import dev.derrick.junit.CleanupMode;
import org.junit.jupiter.api.extension.ExtensionConfigurationException;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.opentest4j.TestAbortedException;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;

/**
 * A workspace the extension made, closed with the store of the test (or class) it belongs to, unless its
 * {@link CleanupMode} says to keep it: then it is {@linkplain Workspace#detach() detached}, or, with a provider that
 * cannot detach, left open together with its provider.
 */
public final class WorkspaceHandle implements ExtensionContext.Store.CloseableResource {
    private static final System.Logger LOG = System.getLogger("dev.derrick.junit");

    private final Workspace workspace;
    private final ProviderHandle provider;
    private final CleanupMode cleanup;
    private final ExtensionContext owner;
    private final BooleanSupplier anyTestFailed;
    private final String where;
    private final AtomicBoolean used = new AtomicBoolean();
    private final AtomicBoolean closed = new AtomicBoolean();

    public WorkspaceHandle(Workspace workspace, ProviderHandle provider, CleanupMode cleanup, ExtensionContext owner,
                           BooleanSupplier anyTestFailed, String where) {
        this.workspace = workspace;
        this.provider = provider;
        this.cleanup = cleanup;
        this.owner = owner;
        this.anyTestFailed = anyTestFailed;
        this.where = where;
    }

    public Workspace workspace() {
        return workspace;
    }

    /** Resets the workspace before every test but the first one that uses it. */
    public void resetBeforeTest(String providerName) {
        if (!used.getAndSet(true)) {
            return;
        }
        try {
            workspace.reset();
        } catch (OperationNotSupportedException e) {
            throw new ExtensionConfigurationException("@DerrickWorkspace(resetBetweenTests = true) on " + where
                    + ": provider '" + providerName + "' cannot reset workspaces (" + e.getMessage()
                    + "); drop resetBetweenTests or use an instance field for a fresh workspace per test", e);
        }
    }

    private boolean failed() {
        return owner.getExecutionException().filter(e -> !(e instanceof TestAbortedException)).isPresent()
                || anyTestFailed.getAsBoolean();
    }

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        boolean keep = cleanup == CleanupMode.NEVER || (cleanup == CleanupMode.ON_SUCCESS && failed());
        if (!keep) {
            workspace.close();
            return;
        }
        String root = "?";
        String providerName = "provider";
        try {
            WorkspaceInfo info = workspace.info();
            root = info.root();
            providerName = "provider '" + info.provider() + "'";
        } catch (RuntimeException e) {
            root = "(unknown: " + e.getMessage() + ")";
        }
        String what = "workspace " + workspace.id() + " at " + root;
        String until;
        try {
            workspace.detach();
            until = "detached: it outlives this JVM, and the next start of " + providerName
                    + " in a later JVM removes it";
        } catch (OperationNotSupportedException e) {
            // The provider can only keep it while it is open: leave the provider open until the JVM ends.
            provider.keep(workspace, what);
            until = "the provider cannot detach it, so it is left open and the workspace lasts until the JVM ends";
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "derrick: could not detach " + what + " of " + where
                    + "; closing it: " + e.getMessage(), e);
            workspace.close();
            return;
        }
        String message = "derrick: kept " + what + " of " + where + " (cleanup = " + cleanup + "); " + until;
        LOG.log(System.Logger.Level.WARNING, message);
        try {
            owner.publishReportEntry("derrick.kept", what + "; " + until);
        } catch (RuntimeException ignored) {
            // reporting is best effort; the log line above already says where it is
        }
    }
}
