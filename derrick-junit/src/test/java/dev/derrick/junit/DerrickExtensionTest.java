package dev.derrick.junit;

import dev.derrick.api.ProviderUnavailableException;
import dev.derrick.api.Workspace;
import dev.derrick.junit.testing.DirsProviderFactory;
import dev.derrick.junit.testing.UnavailableProviderFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtensionConfigurationException;
import org.junit.jupiter.api.io.TempDir;
import org.junit.platform.testkit.engine.EngineExecutionResults;
import org.junit.platform.testkit.engine.EngineTestKit;
import org.junit.platform.testkit.engine.Event;
import org.junit.platform.testkit.engine.Events;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;
import static org.junit.platform.testkit.engine.EventConditions.container;
import static org.junit.platform.testkit.engine.EventConditions.event;
import static org.junit.platform.testkit.engine.EventConditions.finishedWithFailure;
import static org.junit.platform.testkit.engine.EventConditions.skippedWithReason;
import static org.junit.platform.testkit.engine.TestExecutionResultConditions.cause;
import static org.junit.platform.testkit.engine.TestExecutionResultConditions.instanceOf;
import static org.junit.platform.testkit.engine.TestExecutionResultConditions.message;

/**
 * The extension's own tests: sample test classes (static nested classes below, which Surefire does not run on their
 * own) are run through JUnit's {@link EngineTestKit} and their outcome is asserted. They use the small
 * {@code test_dirs} provider of this module's test sources, so these tests depend on nothing but derrick-api;
 * {@code LocalProviderExtensionIT} runs the same ideas against the real local provider.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class DerrickExtensionTest {
    /** What the sample classes saw: test name → workspace root. */
    static final Map<String, String> ROOTS = new ConcurrentHashMap<>();
    static final Map<String, String> IDS = new ConcurrentHashMap<>();
    static final Queue<String> THREADS = new ConcurrentLinkedQueue<>();

    static void record(String test, Workspace ws) {
        ROOTS.put(test, ws.info().root());
        IDS.put(test, ws.id());
        THREADS.add(Thread.currentThread().getName());
    }

    private static EngineExecutionResults run(Class<?>... classes) {
        ROOTS.clear();
        IDS.clear();
        THREADS.clear();
        var request = EngineTestKit.engine("junit-jupiter");
        for (Class<?> c : classes) {
            request.selectors(selectClass(c));
        }
        return request.execute();
    }

    private static EngineExecutionResults run(Map<String, String> parameters, Class<?>... classes) {
        ROOTS.clear();
        IDS.clear();
        THREADS.clear();
        var request = EngineTestKit.engine("junit-jupiter").configurationParameters(parameters);
        for (Class<?> c : classes) {
            request.selectors(selectClass(c));
        }
        return request.execute();
    }

    // ------------------------------------------------------------------------------------------ injection & scope

    @DerrickTest
    @TestMethodOrder(MethodOrderer.OrderAnnotation.class)
    static class FieldsAndParameters {
        @DerrickWorkspace(config = "classpath:workspace.json", provider = "test_dirs")
        static Workspace shared;

        @DerrickWorkspace(config = "classpath:workspace.json", provider = "test_dirs")
        Workspace fresh;

        static Workspace beforeAllParameter;

        @BeforeAll
        static void beforeAll(@DerrickWorkspace(config = "classpath:workspace.json", provider = "test_dirs") Workspace ws) {
            beforeAllParameter = ws;
        }

        @Test
        @Order(1)
        void first(@DerrickWorkspace(config = "classpath:workspace.json", provider = "test_dirs") Workspace parameter) {
            record("first.shared", shared);
            record("first.fresh", fresh);
            record("first.parameter", parameter);
            record("first.beforeAll", beforeAllParameter);
            assertThat(fresh.readString("state.txt")).isEqualTo("clean\n");
            assertThat(fresh.exec("echo $GREETING").stdout()).isEqualTo("hello\n");
            assertThat(parameter.id()).isNotEqualTo(fresh.id());
        }

        @Test
        @Order(2)
        void second() {
            record("second.shared", shared);
            record("second.fresh", fresh);
            record("second.beforeAll", beforeAllParameter);
        }
    }

    @Test
    void injectsFieldsAndParametersWithPerTestAndPerClassScope() {
        int opened = DirsProviderFactory.OPENED.get();
        int closed = DirsProviderFactory.CLOSED.get();

        run(FieldsAndParameters.class).testEvents().assertStatistics(s -> s.started(2).succeeded(2));

        assertThat(IDS.get("first.shared")).isEqualTo(IDS.get("second.shared"));
        assertThat(IDS.get("first.beforeAll")).isEqualTo(IDS.get("second.beforeAll")).isNotEqualTo(IDS.get("first.shared"));
        assertThat(IDS.get("first.fresh")).isNotEqualTo(IDS.get("second.fresh")).isNotEqualTo(IDS.get("first.shared"));
        assertThat(Set.copyOf(IDS.values())).hasSize(5);
        // one provider for the class, closed with it, and nothing left on disk
        assertThat(DirsProviderFactory.OPENED.get() - opened).isEqualTo(1);
        assertThat(DirsProviderFactory.CLOSED.get() - closed).isEqualTo(1);
        assertThat(ROOTS.values()).allSatisfy(root -> assertThat(Path.of(root)).doesNotExist());
    }

    @DerrickTest
    static class Outer {
        @DerrickWorkspace(config = "classpath:workspace.json", provider = "test_dirs")
        static Workspace outerShared;

        @Nested
        class Inner {
            @DerrickWorkspace(config = "classpath:workspace.json", provider = "test_dirs")
            Workspace innerFresh;

            @Test
            void seesBoth() {
                record("inner.outerShared", outerShared);
                record("inner.innerFresh", innerFresh);
            }
        }
    }

    @Test
    void nestedClassesShareTheOuterProviderAndStaticWorkspace() {
        int opened = DirsProviderFactory.OPENED.get();
        run(Outer.class).testEvents().assertStatistics(s -> s.started(1).succeeded(1));
        assertThat(IDS.get("inner.outerShared")).isNotEqualTo(IDS.get("inner.innerFresh"));
        assertThat(DirsProviderFactory.OPENED.get() - opened).isEqualTo(1);
        assertThat(ROOTS.values()).allSatisfy(root -> assertThat(Path.of(root)).doesNotExist());
    }

    // ------------------------------------------------------------------------------------------ failure & cleanup

    @DerrickTest
    static class Failing {
        @DerrickWorkspace(config = "classpath:workspace.json", provider = "test_dirs")
        Workspace ws;

        @Test
        void fails() {
            record("fails", ws);
            throw new AssertionError("boom");
        }
    }

    @Test
    void tearsDownTheWorkspaceOfAFailingTest() {
        run(Failing.class).testEvents().assertStatistics(s -> s.started(1).failed(1));
        assertThat(ROOTS.get("fails")).isNotNull();
        assertThat(Path.of(ROOTS.get("fails"))).doesNotExist();
    }

    @DerrickTest
    @TestMethodOrder(MethodOrderer.MethodName.class)
    static class KeepOnFailure {
        @DerrickWorkspace(config = "classpath:workspace.json", provider = "test_dirs", cleanup = CleanupMode.ON_SUCCESS)
        Workspace ws;

        @Test
        void a_fails() {
            record("a_fails", ws);
            ws.writeString("evidence.txt", "look here");
            throw new AssertionError("boom");
        }

        @Test
        void b_passes() {
            record("b_passes", ws);
        }
    }

    @Test
    void keepsTheWorkspaceOfAFailedTestWithCleanupOnSuccess() throws Exception {
        EngineExecutionResults results = run(KeepOnFailure.class);
        results.testEvents().assertStatistics(s -> s.started(2).failed(1).succeeded(1));
        Path kept = Path.of(ROOTS.get("a_fails"));
        try {
            assertThat(kept.resolve("evidence.txt")).hasContent("look here");
            assertThat(Path.of(ROOTS.get("b_passes"))).doesNotExist();
            assertThat(results.allEvents().reportingEntryPublished().stream()
                    .flatMap(e -> e.getPayload(org.junit.platform.engine.reporting.ReportEntry.class).stream())
                    .map(r -> r.getKeyValuePairs().get("derrick.kept")))
                    .anySatisfy(v -> assertThat(v).contains(IDS.get("a_fails")).contains(kept.toString()));
        } finally {
            deleteTree(kept.getParent());
        }
    }

    // ------------------------------------------------------------------------------------------ reset

    @DerrickTest
    @TestMethodOrder(MethodOrderer.MethodName.class)
    static class Resetting {
        @DerrickWorkspace(config = "classpath:workspace.json", provider = "test_dirs", resetBetweenTests = true)
        static Workspace shared;

        @Test
        void a_dirties() {
            record("a", shared);
            shared.writeString("state.txt", "dirty\n");
            shared.writeString("new.txt", "x");
        }

        @Test
        void b_seesCleanState() {
            record("b", shared);
            assertThat(shared.readString("state.txt")).isEqualTo("clean\n");
            assertThat(shared.listFiles("")).extracting(e -> e.name()).containsExactly("state.txt");
        }
    }

    @Test
    void resetsAClassScopedWorkspaceBetweenTestsWhenAskedTo() {
        run(Resetting.class).testEvents().assertStatistics(s -> s.started(2).succeeded(2));
        assertThat(IDS.get("a")).isEqualTo(IDS.get("b"));
    }

    // ------------------------------------------------------------------------------------------ parallel

    @DerrickTest
    static class ParallelA {
        @DerrickWorkspace(config = "classpath:workspace.json", provider = "test_dirs")
        Workspace ws;

        @Test void t1() { work("A1", ws); }
        @Test void t2() { work("A2", ws); }
        @Test void t3() { work("A3", ws); }
    }

    @DerrickTest
    static class ParallelB {
        @DerrickWorkspace(config = "classpath:workspace.json", provider = "test_dirs")
        static Workspace shared;

        @Test void t1(@DerrickWorkspace(config = "classpath:workspace.json", provider = "test_dirs") Workspace p) { work("B1", p); }
        @Test void t2(@DerrickWorkspace(config = "classpath:workspace.json", provider = "test_dirs") Workspace p) { work("B2", p); }
        @Test void t3() { work("B3", shared); }
    }

    static void work(String name, Workspace ws) {
        record(name, ws);
        ws.writeString("mine.txt", name);
        try {
            Thread.sleep(150);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        assertThat(ws.readString("mine.txt")).isEqualTo(name);
    }

    @Test
    void worksWithParallelExecution() {
        EngineExecutionResults results = run(Map.of(
                "junit.jupiter.execution.parallel.enabled", "true",
                "junit.jupiter.execution.parallel.mode.default", "concurrent",
                "junit.jupiter.execution.parallel.mode.classes.default", "concurrent",
                "junit.jupiter.execution.parallel.config.strategy", "fixed",
                "junit.jupiter.execution.parallel.config.fixed.parallelism", "4"), ParallelA.class, ParallelB.class);
        results.testEvents().assertStatistics(s -> s.started(6).succeeded(6));
        assertThat(Set.copyOf(THREADS)).hasSizeGreaterThan(1);
        assertThat(Set.copyOf(IDS.values())).hasSize(6);
        assertThat(ROOTS.values()).allSatisfy(root -> assertThat(Path.of(root)).doesNotExist());
    }

    @DerrickTest
    @org.junit.jupiter.api.parallel.Execution(org.junit.jupiter.api.parallel.ExecutionMode.CONCURRENT)
    static class ResetWhileConcurrent {
        @DerrickWorkspace(config = "classpath:workspace.json", provider = "test_dirs", resetBetweenTests = true)
        static Workspace shared;

        @Test void t1() { }
        @Test void t2() { }
    }

    @Test
    void refusesResetBetweenTestsWhenTheClassRunsConcurrently() {
        run(Map.of("junit.jupiter.execution.parallel.enabled", "true"), ResetWhileConcurrent.class).testEvents()
                .assertThatEvents().haveAtLeastOne(event(finishedWithFailure(instanceOf(ExtensionConfigurationException.class),
                        message(m -> m.contains("resetBetweenTests") && m.contains("concurrently")))));
    }

    // ------------------------------------------------------------------------------------------ misuse

    @DerrickTest
    static class MissingResource {
        @DerrickWorkspace(config = "classpath:no-such-workspace.json", provider = "test_dirs")
        Workspace ws;

        @Test void t() { }
    }

    @DerrickTest
    static class MissingFile {
        @DerrickWorkspace(config = "src/test/resources/nope/workspace.json", provider = "test_dirs")
        Workspace ws;

        @Test void t() { }
    }

    @DerrickTest
    static class WrongFieldType {
        @DerrickWorkspace(config = "classpath:workspace.json", provider = "test_dirs")
        String ws;

        @Test void t() { }
    }

    @DerrickTest
    static class WrongParameterType {
        @Test void t(@DerrickWorkspace(config = "classpath:workspace.json", provider = "test_dirs") Path ws) { }
    }

    @DerrickTest
    static class UnknownProvider {
        @DerrickWorkspace(config = "classpath:workspace.json", provider = "no_such_backend")
        Workspace ws;

        @Test void t() { }
    }

    @DerrickTest
    static class UnknownOption {
        @DerrickWorkspace(config = "classpath:workspace.json", provider = "test_dirs", options = "colour=blue")
        Workspace ws;

        @Test void t() { }
    }

    @DerrickTest
    static class MalformedOption {
        @DerrickWorkspace(config = "classpath:workspace.json", provider = "test_dirs", options = "colour")
        Workspace ws;

        @Test void t() { }
    }

    @DerrickTest
    static class InvalidConfig {
        @DerrickWorkspace(config = "classpath:broken.json", provider = "test_dirs")
        Workspace ws;

        @Test void t() { }
    }

    @DerrickTest
    static class ResetOnInstanceField {
        @DerrickWorkspace(config = "classpath:workspace.json", provider = "test_dirs", resetBetweenTests = true)
        Workspace ws;

        @Test void t() { }
    }

    private static void assertConfigurationError(Class<?> sample, String... fragments) {
        Events events = run(sample).allEvents();
        events.assertThatEvents().haveAtLeastOne(event(finishedWithFailure(
                instanceOf(ExtensionConfigurationException.class),
                message(m -> List.of(fragments).stream().allMatch(m::contains)))));
    }

    @Test
    void aMissingConfigResourceIsNamed() {
        assertConfigurationError(MissingResource.class, "no-such-workspace.json", "not found on the class path",
                "MissingResource.ws");
    }

    @Test
    void aMissingConfigFileIsNamedWithItsAbsolutePath() {
        assertConfigurationError(MissingFile.class,
                Path.of("src/test/resources/nope/workspace.json").toAbsolutePath().toString(), "does not exist");
    }

    @Test
    void aFieldOfTheWrongTypeIsAClearError() {
        assertConfigurationError(WrongFieldType.class, "WrongFieldType.ws", "must be of type dev.derrick.api.Workspace",
                "java.lang.String");
    }

    @Test
    void aParameterOfTheWrongTypeIsAClearError() {
        run(WrongParameterType.class).testEvents().assertThatEvents().haveExactly(1, event(finishedWithFailure(
                instanceOf(org.junit.jupiter.api.extension.ParameterResolutionException.class),
                cause(instanceOf(ExtensionConfigurationException.class)),
                message(m -> m.contains("WrongParameterType.t") && m.contains("must be of type dev.derrick.api.Workspace")
                        && m.contains("java.nio.file.Path")))));
    }

    @Test
    void anUnknownProviderListsTheAvailableOnes() {
        assertConfigurationError(UnknownProvider.class, "no_such_backend", "available:", "test_dirs");
    }

    @Test
    void anUnknownOrMalformedOptionIsAClearError() {
        assertConfigurationError(UnknownOption.class, "colour", "test_dirs", "supported");
        assertConfigurationError(MalformedOption.class, "colour", "key=value");
    }

    @Test
    void anInvalidConfigSaysWhatIsWrong() {
        assertConfigurationError(InvalidConfig.class, "classpath:broken.json", "setup_scrip");
    }

    @Test
    void resetBetweenTestsOnAnInstanceFieldIsRejected() {
        assertConfigurationError(ResetOnInstanceField.class, "resetBetweenTests", "static");
    }

    // ------------------------------------------------------------------------------------------ availability

    @DerrickTest(disabledWithoutProvider = true)
    static class NeedsUnavailableBackend {
        @DerrickWorkspace(config = "classpath:workspace.json", provider = "test_unavailable")
        Workspace ws;

        @Test void t() { throw new AssertionError("must not run"); }
    }

    @DerrickTest(disabledWithoutProvider = true)
    static class MethodNeedsUnavailableBackend {
        @Test void available(@DerrickWorkspace(config = "classpath:workspace.json", provider = "test_dirs") Workspace ws) { }
        @Test void unavailable(@DerrickWorkspace(config = "classpath:workspace.json", provider = "test_unavailable") Workspace ws) { }
    }

    @DerrickTest
    static class UnavailableWithoutOptIn {
        @DerrickWorkspace(config = "classpath:workspace.json", provider = "test_unavailable")
        Workspace ws;

        @Test void t() { }
    }

    @Test
    void aClassIsDisabledWithTheProvidersReasonWhenItsBackendIsMissing() {
        Events containers = run(NeedsUnavailableBackend.class).containerEvents();
        containers.assertThatEvents().haveExactly(1, event(container(NeedsUnavailableBackend.class.getSimpleName()),
                skippedWithReason(r -> r.contains("test_unavailable") && r.contains(UnavailableProviderFactory.REASON))));
    }

    @Test
    void aTestMethodIsDisabledWhenOnlyItsParameterNeedsAMissingBackend() {
        EngineExecutionResults results = run(MethodNeedsUnavailableBackend.class);
        results.testEvents().assertStatistics(s -> s.started(1).succeeded(1).skipped(1));
        List<Event> skipped = results.testEvents().skipped().list();
        assertThat(skipped.get(0).getTestDescriptor().getDisplayName()).startsWith("unavailable");
    }

    @Test
    void aMissingBackendFailsInsteadWhenItIsRequired() {
        Events containers = run(Map.of("derrick.require.test_unavailable", "true"), NeedsUnavailableBackend.class).containerEvents();
        containers.assertThatEvents().haveAtLeastOne(event(container(NeedsUnavailableBackend.class.getSimpleName()),
                finishedWithFailure(cause(instanceOf(ProviderUnavailableException.class),
                        message(m -> m.contains(UnavailableProviderFactory.REASON) && m.contains("derrick.require.test_unavailable=true"))))));
    }

    @Test
    void withoutOptInAMissingBackendFailsTheTestWithTheProvidersError() {
        run(UnavailableWithoutOptIn.class).testEvents().assertThatEvents().haveExactly(1,
                event(finishedWithFailure(instanceOf(ProviderUnavailableException.class),
                        message(m -> m.contains(UnavailableProviderFactory.REASON)))));
    }

    static void deleteTree(Path dir) throws java.io.IOException {
        if (dir == null || !Files.exists(dir)) {
            return;
        }
        try (var s = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) s.sorted(java.util.Comparator.reverseOrder())::iterator) {
                Files.deleteIfExists(p);
            }
        }
    }

    @AfterAll
    static void noTestDirsLeft(@TempDir Path unused) {
        // nothing: each test asserts its own roots are gone
    }
}
