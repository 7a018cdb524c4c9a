package dev.derrick.junit;

import org.junit.platform.engine.reporting.ReportEntry;
import org.junit.platform.testkit.engine.EngineExecutionResults;
import org.junit.platform.testkit.engine.EngineTestKit;

import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

/**
 * Run in a child JVM by {@link LocalProviderExtensionIT}: runs {@link LocalProviderExtensionIT.KeepSample} through
 * the JUnit Platform, prints what it saw, and exits normally (so the local provider's shutdown hook runs).
 */
public final class KeepChild {
    private KeepChild() {
    }

    public static void main(String[] args) {
        EngineExecutionResults results = EngineTestKit.engine("junit-jupiter")
                .selectors(selectClass(LocalProviderExtensionIT.KeepSample.class)).execute();
        var stats = results.testEvents();
        System.out.println("STATS started=" + stats.started().count() + " succeeded=" + stats.succeeded().count()
                + " failed=" + stats.failed().count());
        LocalProviderExtensionIT.ROOTS.forEach((name, root) -> System.out.println("ROOT " + name + " " + root));
        LocalProviderExtensionIT.IDS.forEach((name, id) -> System.out.println("ID " + name + " " + id));
        results.allEvents().reportingEntryPublished().stream()
                .flatMap(e -> e.getPayload(ReportEntry.class).stream())
                .map(r -> r.getKeyValuePairs().get("derrick.kept"))
                .filter(java.util.Objects::nonNull)
                .forEach(v -> System.out.println("KEPT " + v));
        System.out.flush();
        System.exit(0);
    }
}
