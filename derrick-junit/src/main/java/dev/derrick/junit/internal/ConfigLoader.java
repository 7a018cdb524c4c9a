package dev.derrick.junit.internal;

import dev.derrick.api.DerrickException;
import dev.derrick.api.WorkspaceConfig;
import org.junit.jupiter.api.extension.ExtensionConfigurationException;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Reads the workspace config an annotation names: a class-path resource or a file. */
public final class ConfigLoader {
    /** The prefix of a class-path resource. */
    public static final String CLASSPATH = "classpath:";

    private ConfigLoader() {
    }

    /**
     * Loads {@code spec}.
     *
     * @param spec      {@code classpath:name} or a file path
     * @param testClass the class whose class loader and package resources are searched
     * @param where     names the field or parameter in error messages
     * @throws ExtensionConfigurationException naming the missing resource or file, or what is wrong in it
     */
    public static WorkspaceConfig load(String spec, Class<?> testClass, String where) {
        if (spec == null || spec.isBlank()) {
            throw new ExtensionConfigurationException("@DerrickWorkspace on " + where
                    + " has an empty config; give \"classpath:workspace.json\" or a file path");
        }
        String trimmed = spec.trim();
        try {
            if (trimmed.startsWith(CLASSPATH)) {
                String name = trimmed.substring(CLASSPATH.length()).trim();
                URL url = findResource(name, testClass);
                if (url == null) {
                    throw new ExtensionConfigurationException("workspace config resource '" + name
                            + "' (from @DerrickWorkspace on " + where + ") was not found on the class path of "
                            + testClass.getName() + " (looked at the class-path root and in package "
                            + testClass.getPackageName() + ")");
                }
                return WorkspaceConfig.fromJson(read(url), trimmed);
            }
            Path file = Path.of(trimmed).toAbsolutePath().normalize();
            if (!Files.isRegularFile(file)) {
                throw new ExtensionConfigurationException("workspace config file " + file + " (from @DerrickWorkspace on "
                        + where + ") does not exist" + (trimmed.contains(":") ? "" : "; for a class-path resource write \"classpath:" + trimmed + "\""));
            }
            return WorkspaceConfig.fromFile(file);
        } catch (ExtensionConfigurationException e) {
            throw e;
        } catch (DerrickException | UncheckedIOException e) {
            throw new ExtensionConfigurationException("cannot use workspace config " + trimmed + " (from @DerrickWorkspace on "
                    + where + "): " + e.getMessage(), e);
        }
    }

    private static URL findResource(String name, Class<?> testClass) {
        String absolute = name.startsWith("/") ? name.substring(1) : name;
        ClassLoader loader = testClass.getClassLoader();
        URL url = loader == null ? ClassLoader.getSystemResource(absolute) : loader.getResource(absolute);
        if (url == null && !name.startsWith("/")) {
            url = testClass.getResource(name);
        }
        return url;
    }

    private static String read(URL url) {
        try (InputStream in = url.openStream()) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + url + ": " + e.getMessage(), e);
        }
    }
}
