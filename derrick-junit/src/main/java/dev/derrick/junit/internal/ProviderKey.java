package dev.derrick.junit.internal;

import dev.derrick.junit.DerrickWorkspace;
import org.junit.jupiter.api.extension.ExtensionConfigurationException;

import java.util.Collections;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * A provider name with its options: the extension opens one provider per key and test class.
 *
 * @param name    the provider name, lower case
 * @param options the options, sorted by key
 */
public record ProviderKey(String name, Map<String, String> options) {
    public ProviderKey {
        options = Collections.unmodifiableMap(new TreeMap<>(options));
    }

    /** The key of an annotation; {@code where} names the field or parameter in error messages. */
    public static ProviderKey of(DerrickWorkspace annotation, String where) {
        String name = annotation.provider() == null ? "" : annotation.provider().trim();
        if (name.isEmpty()) {
            throw new ExtensionConfigurationException("@DerrickWorkspace on " + where + " has an empty provider name");
        }
        Map<String, String> options = new TreeMap<>();
        for (String option : annotation.options()) {
            int eq = option.indexOf('=');
            if (eq <= 0) {
                throw new ExtensionConfigurationException("@DerrickWorkspace on " + where + " has option '" + option
                        + "'; write options as key=value");
            }
            options.put(option.substring(0, eq).trim(), option.substring(eq + 1).trim());
        }
        return new ProviderKey(name.toLowerCase(Locale.ROOT), options);
    }

    @Override
    public String toString() {
        return options.isEmpty() ? name : name + options;
    }
}
