package dev.derrick.core.provision;

import dev.derrick.api.spi.ProviderOptions;
import dev.derrick.api.spi.ProvisioningBackend;
import dev.derrick.api.spi.ProvisioningEngine;
import dev.derrick.core.Redactor;
import dev.derrick.core.cache.CacheOptions;
import dev.derrick.core.cache.CacheStore;
import dev.derrick.core.git.GitClient;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.HashMap;
import java.util.Map;

/**
 * Derrick's {@link ProvisioningEngine.Factory}, found by {@link ProvisioningEngine#open} through
 * {@code META-INF/services}: a {@link Provisioner} for a third-party backend, with the cache options read from the
 * provider's options and a git client of its own on the provider's environment.
 */
public final class ProvisionerFactory implements ProvisioningEngine.Factory {
    private static final Logger LOG = LoggerFactory.getLogger(ProvisionerFactory.class);

    @Override
    public <C, B, W> ProvisioningEngine<C, W> open(ProvisioningBackend<C, B, W> backend, Map<String, ?> options,
                                                   Map<String, String> environment) {
        Map<String, String> env = Map.copyOf(environment == null ? Map.of() : environment);
        Map<String, Object> ours = new HashMap<>();
        (options == null ? Map.<String, Object>of() : options).forEach((k, v) -> {
            if (ProvisioningEngine.OPTIONS.contains(k)) {
                ours.put(k, v);
            }
        });
        CacheOptions cache = CacheOptions.parse(ProviderOptions.of(backend.name(), ours, CacheOptions.KEYS), env);
        CacheStore store = null;
        if (cache.enabled()) {
            store = new CacheStore(cache.dir(), backend.name(), entry -> backend.deleteSnapshot(entry.payload()));
            int collected = store.collectGarbage();
            store.recordPolicy(cache.eviction());
            if (cache.eviction().bounded()) {
                collected += store.prune(cache.eviction()).size();
            }
            if (collected > 0) {
                LOG.info("removed {} leftover(s) of interrupted work from {}", collected, store.directory());
            }
        }
        Redactor redactor = new Redactor();
        return new Provisioner<>(backend, new Provisioner.Settings(store, cache.eviction(), cache.requireFresh(),
                new GitClient(env, redactor), redactor, env));
    }
}
