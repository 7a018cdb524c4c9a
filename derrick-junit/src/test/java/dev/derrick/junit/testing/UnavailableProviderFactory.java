package dev.derrick.junit.testing;

import dev.derrick.api.ProviderUnavailableException;
import dev.derrick.api.WorkspaceProvider;
import dev.derrick.api.spi.Availability;
import dev.derrick.api.spi.WorkspaceProviderFactory;

import java.util.Map;

/** A third-party provider whose probe always says no, as one would without its engine. */
public final class UnavailableProviderFactory implements WorkspaceProviderFactory {
    public static final String REASON = "no engine at tcp://127.0.0.1:9 (test backend switched off)";

    @Override
    public String name() {
        return "test_unavailable";
    }

    @Override
    public String description() {
        return "a backend that is never available";
    }

    @Override
    public Availability probe(Map<String, ?> options) {
        return Availability.no(REASON);
    }

    @Override
    public WorkspaceProvider open(Map<String, ?> options) {
        throw new ProviderUnavailableException(REASON);
    }
}
