package dev.derrick.junit;

import dev.derrick.api.ProviderUnavailableException;
import dev.derrick.api.Workspace;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.api.WorkspaceProviders;
import dev.derrick.api.spi.Availability;
import dev.derrick.api.spi.WorkspaceProviderFactory;
import dev.derrick.junit.internal.ConfigLoader;
import dev.derrick.junit.internal.ProviderHandle;
import dev.derrick.junit.internal.ProviderKey;
import dev.derrick.junit.internal.WorkspaceHandle;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionConfigurationException;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;
import org.junit.jupiter.api.parallel.ExecutionMode;
import org.junit.platform.commons.support.AnnotationSupport;
import org.junit.platform.commons.support.ModifierSupport;

import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Parameter;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The JUnit 5 extension behind {@link DerrickTest}: injects workspaces into fields and parameters annotated with
 * {@link DerrickWorkspace} and tears them down afterwards.
 *
 * <p>Usually registered through {@link DerrickTest}; it can also be registered directly:
 *
 * <pre>{@code
 * @ExtendWith(DerrickExtension.class)
 * class MyTest {
 *     @Test
 *     void runs(@DerrickWorkspace(config = "classpath:workspace.json") Workspace ws) {
 *         assertThat(ws.exec("true").succeeded()).isTrue();
 *     }
 * }
 * }</pre>
 *
 * <p>How it works: providers are opened lazily, once per test class and provider name plus options, and put into the
 * class's {@link ExtensionContext.Store} as closeable resources; every workspace is put into the store of the test
 * (instance fields, test-method parameters) or class (static fields, {@code @BeforeAll} parameters) it belongs to.
 * JUnit closes those stores in reverse order when the test or class ends, whether it passed, failed or was aborted,
 * so teardown always runs. All state lives in the stores, which are thread-safe, so the extension works with JUnit's
 * parallel execution ({@code junit.jupiter.execution.parallel.enabled}); providers are thread-safe by contract.
 *
 * <p>The extension uses nothing but {@code derrick-api}: whatever a provider does (a setup cache, say) is what a
 * test gets.
 */
public final class DerrickExtension implements BeforeAllCallback, BeforeEachCallback, AfterEachCallback,
        ParameterResolver, ExecutionCondition {

    private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(DerrickExtension.class);
    private static final String FAILURES = "failures";
    private static final String RESETTABLE = "resettable";

    /** Created by JUnit. */
    public DerrickExtension() {
    }

    // ---------------------------------------------------------------------------------------------- condition

    @Override
    public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
        Optional<Class<?>> testClass = context.getTestClass();
        if (testClass.isEmpty() || !disabledWithoutProvider(testClass.get())) {
            return ConditionEvaluationResult.enabled("derrick: availability check not requested");
        }
        Set<ProviderKey> keys = new LinkedHashSet<>();
        if (context.getTestMethod().isPresent()) {
            Method method = context.getTestMethod().get();
            for (Parameter parameter : method.getParameters()) {
                AnnotationSupport.findAnnotation(parameter, DerrickWorkspace.class)
                        .ifPresent(a -> keys.add(ProviderKey.of(a, describe(parameter, method))));
            }
        } else {
            for (Field field : AnnotationSupport.findAnnotatedFields(testClass.get(), DerrickWorkspace.class, f -> true)) {
                keys.add(ProviderKey.of(field.getAnnotation(DerrickWorkspace.class), describe(field)));
            }
        }
        for (ProviderKey key : keys) {
            Availability availability = probe(context, key);
            if (!availability.available()) {
                String reason = "derrick provider '" + key.name() + "' is not available: " + availability.reason();
                Optional<String> requiredBy = requiredBy(context, key.name());
                if (requiredBy.isPresent()) {
                    throw new ProviderUnavailableException(reason + " (required by " + requiredBy.get()
                            + ", so this fails instead of being skipped)");
                }
                return ConditionEvaluationResult.disabled(reason);
            }
        }
        return ConditionEvaluationResult.enabled("derrick providers available: " + keys);
    }

    private static boolean disabledWithoutProvider(Class<?> testClass) {
        for (Class<?> c = testClass; c != null; c = c.getEnclosingClass()) {
            Optional<DerrickTest> annotation = AnnotationSupport.findAnnotation(c, DerrickTest.class);
            if (annotation.isPresent()) {
                return annotation.get().disabledWithoutProvider();
            }
        }
        return false;
    }

    private static Availability probe(ExtensionContext context, ProviderKey key) {
        ExtensionContext.Store root = context.getRoot().getStore(NAMESPACE);
        return root.getOrComputeIfAbsent("probe:" + key, k -> {
            WorkspaceProviderFactory factory = WorkspaceProviders.find(key.name()).orElseThrow(() ->
                    new ExtensionConfigurationException("no workspace provider named '" + key.name() + "'"
                            + dev.derrick.api.spi.DidYouMean.hint(key.name(), WorkspaceProviders.available()) + "; available: "
                            + WorkspaceProviders.available()));
            try {
                return factory.probe(key.options());
            } catch (RuntimeException e) {
                return Availability.no(e.getClass().getSimpleName() + ": " + e.getMessage());
            }
        }, Availability.class);
    }

    /** The switch that makes an unavailable provider a failure: a configuration parameter or an environment variable. */
    private static Optional<String> requiredBy(ExtensionContext context, String provider) {
        String parameter = "derrick.require." + provider;
        Optional<String> configured = context.getConfigurationParameter(parameter);
        if (configured.isPresent()) {
            return Boolean.parseBoolean(configured.get().trim()) ? Optional.of(parameter + "=true") : Optional.empty();
        }
        List<String> variables = new ArrayList<>();
        String upper = provider.toUpperCase(Locale.ROOT).replaceAll("[^A-Z0-9]", "_");
        variables.add("DERRICK_REQUIRE_" + upper);
        if (upper.startsWith("REMOTE_")) {
            variables.add("DERRICK_REQUIRE_" + upper.substring("REMOTE_".length()));
        }
        for (String variable : variables) {
            String value = System.getenv(variable);
            if (value != null && Boolean.parseBoolean(value.trim())) {
                return Optional.of(variable + "=true");
            }
        }
        return Optional.empty();
    }

    // ---------------------------------------------------------------------------------------------- fields

    @Override
    public void beforeAll(ExtensionContext context) {
        Class<?> testClass = context.getRequiredTestClass();
        for (Field field : AnnotationSupport.findAnnotatedFields(testClass, DerrickWorkspace.class, ModifierSupport::isStatic)) {
            checkField(field);
            WorkspaceHandle handle = create(context, field.getAnnotation(DerrickWorkspace.class), describe(field), true);
            set(field, null, handle.workspace());
        }
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        resetClassScoped(context);
        for (Object instance : context.getRequiredTestInstances().getAllInstances()) {
            for (Field field : AnnotationSupport.findAnnotatedFields(instance.getClass(), DerrickWorkspace.class,
                    ModifierSupport::isNotStatic)) {
                checkField(field);
                DerrickWorkspace annotation = field.getAnnotation(DerrickWorkspace.class);
                if (annotation.resetBetweenTests()) {
                    throw new ExtensionConfigurationException("@DerrickWorkspace(resetBetweenTests = true) on " + describe(field)
                            + ": an instance field already gets a fresh workspace for every test; make the field static for one workspace per class");
                }
                WorkspaceHandle handle = create(context, annotation, describe(field), false);
                set(field, instance, handle.workspace());
            }
        }
    }

    @Override
    public void afterEach(ExtensionContext context) {
        if (context.getExecutionException().filter(e -> !(e instanceof org.opentest4j.TestAbortedException)).isPresent()) {
            for (Optional<ExtensionContext> c = context.getParent(); c.isPresent(); c = c.get().getParent()) {
                if (c.get().getTestClass().isPresent() && c.get().getTestMethod().isEmpty()) {
                    failures(c.get()).set(true);
                }
            }
        }
    }

    private static void checkField(Field field) {
        if (!Workspace.class.equals(field.getType())) {
            throw new ExtensionConfigurationException("@DerrickWorkspace on " + describe(field) + ": the field must be of type "
                    + Workspace.class.getName() + ", not " + field.getType().getName());
        }
        if (ModifierSupport.isFinal(field)) {
            throw new ExtensionConfigurationException("@DerrickWorkspace on " + describe(field) + ": the field must not be final");
        }
    }

    private static void set(Field field, Object instance, Workspace workspace) {
        try {
            field.setAccessible(true);
            field.set(instance, workspace);
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new ExtensionConfigurationException("cannot inject a workspace into " + describe(field) + ": " + e, e);
        }
    }

    // ---------------------------------------------------------------------------------------------- parameters

    @Override
    public boolean supportsParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
        if (!parameterContext.isAnnotated(DerrickWorkspace.class)) {
            return false;
        }
        Parameter parameter = parameterContext.getParameter();
        if (!Workspace.class.equals(parameter.getType())) {
            throw new ExtensionConfigurationException("@DerrickWorkspace on " + describe(parameterContext)
                    + ": the parameter must be of type " + Workspace.class.getName() + ", not " + parameter.getType().getName());
        }
        return true;
    }

    @Override
    public Object resolveParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
        DerrickWorkspace annotation = parameterContext.findAnnotation(DerrickWorkspace.class).orElseThrow();
        boolean classScoped = extensionContext.getTestMethod().isEmpty();
        if (annotation.resetBetweenTests() && !classScoped) {
            throw new ExtensionConfigurationException("@DerrickWorkspace(resetBetweenTests = true) on " + describe(parameterContext)
                    + ": a test's parameter already gets a fresh workspace; use it on a static field or a @BeforeAll parameter");
        }
        return create(extensionContext, annotation, describe(parameterContext), classScoped).workspace();
    }

    // ---------------------------------------------------------------------------------------------- lifecycle

    private WorkspaceHandle create(ExtensionContext context, DerrickWorkspace annotation, String where, boolean classScoped) {
        Class<?> testClass = context.getRequiredTestClass();
        ProviderKey key = ProviderKey.of(annotation, where);
        WorkspaceConfig config = ConfigLoader.load(annotation.config(), testClass, where);
        ExtensionContext classContext = classContext(context);
        ProviderHandle provider = classContext.getStore(NAMESPACE)
                .getOrComputeIfAbsent("provider:" + key, k -> new ProviderHandle(key), ProviderHandle.class);
        Workspace workspace = provider.provider().create(config);
        AtomicBoolean failures = classScoped ? failures(context) : new AtomicBoolean();
        WorkspaceHandle handle = new WorkspaceHandle(workspace, provider, annotation.cleanup(), context, failures::get, where);
        context.getStore(NAMESPACE).put(new Object(), handle);
        if (classScoped && annotation.resetBetweenTests()) {
            resettable(context).add(new Resettable(handle, key.name(), where));
        }
        return handle;
    }

    /** The outermost class context: providers live there, so nested classes share them. */
    private static ExtensionContext classContext(ExtensionContext context) {
        ExtensionContext outermost = context;
        for (Optional<ExtensionContext> c = Optional.of(context); c.isPresent(); c = c.get().getParent()) {
            if (c.get().getTestClass().isPresent() && c.get().getTestMethod().isEmpty()) {
                outermost = c.get();
            }
        }
        return outermost;
    }

    private record Resettable(WorkspaceHandle handle, String provider, String where) {
    }

    private static AtomicBoolean failures(ExtensionContext classContext) {
        return classContext.getStore(NAMESPACE).getOrComputeIfAbsent(FAILURES + ":" + classContext.getUniqueId(),
                k -> new AtomicBoolean(), AtomicBoolean.class);
    }

    @SuppressWarnings("unchecked")
    private static Queue<Resettable> resettable(ExtensionContext classContext) {
        return classContext.getStore(NAMESPACE).getOrComputeIfAbsent(RESETTABLE + ":" + classContext.getUniqueId(),
                k -> new ConcurrentLinkedQueue<Resettable>(), Queue.class);
    }

    private static void resetClassScoped(ExtensionContext context) {
        for (Optional<ExtensionContext> c = context.getParent(); c.isPresent(); c = c.get().getParent()) {
            ExtensionContext classContext = c.get();
            if (classContext.getTestClass().isEmpty() || classContext.getTestMethod().isPresent()) {
                continue;
            }
            Queue<Resettable> queue = resettable(classContext);
            if (queue.isEmpty()) {
                continue;
            }
            if (context.getExecutionMode() == ExecutionMode.CONCURRENT) {
                throw new ExtensionConfigurationException("@DerrickWorkspace(resetBetweenTests = true) on "
                        + queue.peek().where() + " cannot be used while the tests of "
                        + classContext.getRequiredTestClass().getName()
                        + " run concurrently; annotate the class with @Execution(ExecutionMode.SAME_THREAD)");
            }
            for (Resettable r : queue) {
                r.handle().resetBeforeTest(r.provider());
            }
        }
    }

    // ---------------------------------------------------------------------------------------------- naming

    private static String describe(Field field) {
        return "field " + field.getDeclaringClass().getName() + "." + field.getName();
    }

    private static String describe(ParameterContext parameterContext) {
        Parameter parameter = parameterContext.getParameter();
        return "parameter " + (parameter.isNamePresent() ? parameter.getName() : "#" + parameterContext.getIndex()) + " of "
                + parameterContext.getDeclaringExecutable().getDeclaringClass().getName() + "."
                + parameterContext.getDeclaringExecutable().getName();
    }

    private static String describe(Parameter parameter, Method method) {
        return "parameter " + (parameter.isNamePresent() ? parameter.getName() : "#" + List.of(method.getParameters()).indexOf(parameter)) + " of " + method.getDeclaringClass().getName() + "." + method.getName();
    }

}
