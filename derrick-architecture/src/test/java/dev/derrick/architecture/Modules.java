package dev.derrick.architecture;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.Dependency;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.lang.ArchCondition;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.lang.ConditionEvents;
import com.tngtech.archunit.lang.SimpleConditionEvent;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;

/**
 * The rules, and what a module is: the Maven module a class was compiled in, read from where its class file lives
 * ({@code …/derrick-local/target/…} in a build, {@code derrick-local-<version>.jar} from a repository).
 */
final class Modules {
    private static final Pattern BUILD_DIR = Pattern.compile("/(derrick-[a-z-]+)/target/");
    private static final Pattern JAR = Pattern.compile("/(derrick-[a-z]+(?:-[a-z]+)*)-\\d[^/]*\\.jar");

    private Modules() {
    }

    /** The module of a class, or empty when it is not one of derrick's (a library, the JDK). */
    static Optional<String> of(JavaClass c) {
        return c.getSource().map(s -> s.getUri().toString()).flatMap(uri -> {
            Matcher m = BUILD_DIR.matcher(uri);
            if (m.find()) {
                return Optional.of(m.group(1));
            }
            m = JAR.matcher(uri);
            return m.find() ? Optional.of(m.group(1)) : Optional.empty();
        });
    }

    static DescribedPredicate<JavaClass> inModule(String module) {
        return DescribedPredicate.describe("are in module " + module, c -> of(c).filter(module::equals).isPresent());
    }

    private static boolean internal(JavaClass c) {
        return ("." + c.getPackageName() + ".").contains(".internal.");
    }

    /** No class uses a class of an {@code internal} package of another module. */
    static ArchRule noCrossModuleInternalAccess() {
        return classes().should(new ArchCondition<>("not depend on an internal package of another module") {
            @Override
            public void check(JavaClass origin, ConditionEvents events) {
                Optional<String> from = of(origin);
                if (from.isEmpty()) {
                    return;
                }
                for (Dependency d : origin.getDirectDependenciesFromSelf()) {
                    JavaClass target = d.getTargetClass().getBaseComponentType();
                    Optional<String> to = of(target);
                    if (internal(target) && to.isPresent() && !to.equals(from)) {
                        events.add(SimpleConditionEvent.violated(d, from.get() + " uses " + to.get()
                                + "'s internal " + target.getName() + ": " + d.getDescription()));
                    }
                }
            }
        });
    }

    /** derrick-api is JDK types only: it depends on nothing but java.*, javax.* and itself. */
    static ArchRule apiIsJdkOnly() {
        return classes().that(inModule("derrick-api")).should().onlyDependOnClassesThat()
                .resideInAnyPackage("java..", "javax..", "dev.derrick.api..")
                .because("the public API is JDK types only (users must not inherit derrick's dependencies)");
    }

    /** No two top-level classes of derrick's modules share a simple name. */
    static ArchRule uniqueSimpleNames() {
        return classes().that().areTopLevelClasses().should(new ArchCondition<>("have a simple name no other class of "
                + "derrick's modules has") {
            private Map<String, List<JavaClass>> byName = Map.of();

            @Override
            public void init(java.util.Collection<JavaClass> all) {
                byName = all.stream().filter(c -> of(c).isPresent())
                        .collect(Collectors.groupingBy(JavaClass::getSimpleName, TreeMap::new, Collectors.toList()));
            }

            @Override
            public void check(JavaClass c, ConditionEvents events) {
                List<JavaClass> same = byName.getOrDefault(c.getSimpleName(), List.of());
                if (same.size() > 1) {
                    events.add(SimpleConditionEvent.violated(c, c.getName() + " (" + of(c).orElse("?")
                            + ") shares its simple name with " + same.stream().filter(o -> o != c)
                            .map(o -> o.getName() + " (" + of(o).orElse("?") + ")")
                            .collect(Collectors.toCollection(TreeSet::new))));
                }
            }
        });
    }

    /** The modules the imported classes come from (to check the import saw them all). */
    static java.util.Set<String> present(JavaClasses classes) {
        return classes.stream().map(Modules::of).flatMap(Optional::stream).collect(Collectors.toCollection(TreeSet::new));
    }
}
