package dev.derrick.api.spi;

import dev.derrick.api.WorkspaceConfig;

import java.nio.file.Path;

/**
 * Reads and writes workspace-config JSON. {@code derrick-core} provides the implementation (Jackson) through
 * {@code META-INF/services/dev.derrick.api.spi.ConfigCodec}, which keeps {@code derrick-api} free of dependencies.
 */
public interface ConfigCodec {
    /** Reads a file; errors name the file, and line and column for syntax errors. */
    WorkspaceConfig read(Path file);

    /** Parses JSON text; {@code source} names it in errors. */
    WorkspaceConfig parse(String json, String source);

    /** Writes the JSON form. */
    String toJson(WorkspaceConfig config);
}
